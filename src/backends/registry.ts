/**
 * The backend kinds this broker knows. Adding a kind is one folder exporting one plugin
 * and one line here; the configuration, the server and the docs take it from this list.
 */
import { Registry } from '../base/registry.js';
import { awsStsPlugin } from './aws-sts/plugin.js';
import { basculePlugin } from './bascule/plugin.js';
import { devPlugin } from './dev/plugin.js';
import { entraPlugin } from './entra/plugin.js';
import { kerberosPlugin } from './kerberos/plugin.js';
import { oauthExchangePlugin } from './oauth-exchange/plugin.js';
import type { BackendPlugin } from './plugin.js';
import { spirePlugin } from './spire/plugin.js';
import { vaultPlugin } from './vault/plugin.js';

export const backendRegistry = new Registry<BackendPlugin>('backend', [
  oauthExchangePlugin,
  entraPlugin,
  vaultPlugin,
  awsStsPlugin,
  spirePlugin,
  kerberosPlugin,
  devPlugin,
  basculePlugin,
]);
