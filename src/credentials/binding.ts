/**
 * What a credential is bound to beyond its target, for one invocation (issue #17): the
 * connector says what it will do with it, and this file alone turns that into what the
 * issuer must write into the credential — so every SSH-certificate backend (dev, Vault)
 * binds the same way, and the resolver and the connector check the same thing. For AWS,
 * the one request a SigV4 credential will sign, which the aws_sts backend narrows its
 * session policy to.
 */
import type { ParsedCertificate } from '../ssh/certificate.js';

export interface CredentialBinding {
  /**
   * SSH: the exact command line the transport will send in its exec request. The
   * certificate forces it (`force-command`), so the key runs this command and no other.
   */
  readonly sshCommand?: string;
  /**
   * SSH: the addresses (CIDR) the broker reaches its targets from; the certificate is
   * refused from anywhere else (`source-address`). Empty or absent: not restricted.
   */
  readonly sshSourceAddresses?: readonly string[];
  /** AWS: the one request the credential will sign (backends/aws-sts/operation-scope.ts). */
  readonly awsRequest?: AwsRequest;
}

/** A request as SigV4 signs it: the signing name, the method, the path under the target. */
export interface AwsRequest {
  /** e.g. `s3`. */
  readonly service: string;
  readonly method: string;
  /** Relative to the target's base path, as the HTTP connector's operation has it. */
  readonly path: string;
  /** The query's keys: S3 names sub-resources (`?acl`) there. */
  readonly queryKeys: readonly string[];
}

/** The critical options and extensions a bound user certificate carries, exactly. */
export interface SshCertificateBinding {
  readonly criticalOptions: Readonly<Record<string, string>>;
  readonly extensions: readonly string[];
}

/**
 * An exec without a pty needs no extension: no pty, no forwarding of ports, agent or X11,
 * no ~/.ssh/rc. (Should an interactive operation ever exist, it would add permit-pty only.)
 */
const EXEC_EXTENSIONS: readonly string[] = Object.freeze([]);

/** The certificate options that force `command`, from `sources` only when any are given. */
export function sshCommandBinding(
  command: string,
  sources: readonly string[] = [],
): SshCertificateBinding {
  return {
    criticalOptions: Object.freeze({
      'force-command': command,
      ...(sources.length > 0 ? { 'source-address': sources.join(',') } : {}),
    }),
    extensions: EXEC_EXTENSIONS,
  };
}

/**
 * The certificate options for a binding, or undefined when it binds no SSH command (the
 * backend then signs as it did before; the SSH connector refuses such a certificate).
 */
export function sshCertificateBinding(
  binding: CredentialBinding | undefined,
): SshCertificateBinding | undefined {
  const command = binding?.sshCommand;
  return command === undefined
    ? undefined
    : sshCommandBinding(command, binding?.sshSourceAddresses);
}

/** True when a certificate carries exactly the binding's options and extensions, no more. */
export function certificateHonours(
  cert: Pick<ParsedCertificate, 'criticalOptions' | 'extensions'>,
  binding: SshCertificateBinding,
): boolean {
  const want = Object.entries(binding.criticalOptions);
  const got = Object.entries(cert.criticalOptions);
  return (
    got.length === want.length &&
    want.every(([name, value]) => cert.criticalOptions[name] === value) &&
    cert.extensions.length === binding.extensions.length &&
    binding.extensions.every((e) => cert.extensions.includes(e))
  );
}
