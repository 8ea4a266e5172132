/**
 * The connector kinds this broker knows. Adding a kind is one folder exporting one plugin
 * and one line here; the configuration, the routes, OpenAPI, the MCP bridge and the CLI
 * take it from this list.
 */
import { Registry } from '../base/registry.js';
import { basculePlugin } from './bascule/plugin.js';
import { httpPlugin } from './http/plugin.js';
import type { ConnectorPlugin } from './plugin.js';
import { sshPlugin } from './ssh/plugin.js';
import { winrmPlugin } from './winrm/plugin.js';

export const connectorRegistry = new Registry<ConnectorPlugin>('connector', [
  sshPlugin,
  basculePlugin,
  httpPlugin,
  winrmPlugin,
]);
