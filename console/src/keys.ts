/**
 * The person's key, the console's only sign-in: an Ed25519 CryptoKey generated in the
 * browser (or imported from a `bastion keygen` file) and kept in IndexedDB as a
 * non-extractable key, so neither the page nor anything it stores can read its bytes. The
 * broker keeps no session: each API call is signed with this key (api.ts).
 */
import { base64url, didFromRawKey } from './did-key.js';

export interface Identity {
  readonly did: string;
  readonly privateKey: CryptoKey;
  /** The public key as a DPoP header names it. */
  readonly jwk: { kty: 'OKP'; crv: 'Ed25519'; x: string };
}

const DB = 'bastion-console';
const STORE = 'identity';
const ID = 'me';

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error('IndexedDB is unavailable'));
  });
}

async function withStore<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>) {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = fn(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new Error('IndexedDB refused the request'));
    });
  } finally {
    db.close();
  }
}

async function identityOf(privateKey: CryptoKey, publicKey: CryptoKey): Promise<Identity> {
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey));
  return {
    did: didFromRawKey(raw),
    privateKey,
    jwk: { kty: 'OKP', crv: 'Ed25519', x: base64url(raw) },
  };
}

export async function loadIdentity(): Promise<Identity | undefined> {
  const stored: unknown = await withStore('readonly', (s) => s.get(ID));
  return (stored as Identity | undefined) ?? undefined;
}

async function keep(identity: Identity): Promise<Identity> {
  await withStore('readwrite', (s) => s.put(identity, ID));
  return identity;
}

export async function forgetIdentity(): Promise<void> {
  await withStore('readwrite', (s) => s.delete(ID));
}

/** A new key whose private half never exists outside WebCrypto. */
export async function generateIdentity(): Promise<Identity> {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  return keep(await identityOf(pair.privateKey, pair.publicKey));
}

/** The DER of a PKCS#8 PEM (what `bastion keygen` writes). */
function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const body = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (body?.[1] === undefined) throw new Error('not a PKCS#8 PEM private key');
  const text = atob(body[1].replace(/\s+/g, ''));
  const der = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) der[i] = text.charCodeAt(i);
  return der;
}

/**
 * A `bastion keygen` file. WebCrypto cannot derive a public key from a non-extractable
 * private one, so the key is read once extractable for its public half (`x`), then imported
 * again non-extractable; only the latter is kept, and the DER is zero-filled.
 */
export async function importIdentity(pem: string): Promise<Identity> {
  const der = pemToDer(pem);
  try {
    const alg = { name: 'Ed25519' };
    const readable = await crypto.subtle.importKey('pkcs8', der, alg, true, ['sign']);
    const { x } = await crypto.subtle.exportKey('jwk', readable);
    if (typeof x !== 'string') throw new Error('not an Ed25519 key');
    const publicJwk = { kty: 'OKP', crv: 'Ed25519', x };
    const publicKey = await crypto.subtle.importKey('jwk', publicJwk, alg, true, ['verify']);
    const privateKey = await crypto.subtle.importKey('pkcs8', der, alg, false, ['sign']);
    return keep(await identityOf(privateKey, publicKey));
  } finally {
    der.fill(0);
  }
}
