/**
 * Hosts no credential may reach by way of a broad accord pattern or a DNS answer: link-local
 * and cloud-metadata addresses, the unspecified ("this host") addresses, and the metadata
 * service's names. One classification, read by governance (an accord grants such a target
 * only by naming it exactly, never through a wildcard) and by the HTTP transport (which
 * refuses to resolve to or connect to one unless the target is that exact literal).
 * Loopback and private ranges are not here: targets live there.
 */
import { BlockList, isIP } from 'node:net';

/** IPv4 ranges, each refused also in its IPv4-mapped and NAT64 forms (below). */
const IPV4_SUBNETS: readonly (readonly [string, number])[] = [
  // Link-local (RFC 3927), where the metadata services live: 169.254.169.254 for AWS and GCP
  // (pages cited below), Azure
  // (https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service) and OCI
  // (https://docs.oracle.com/iaas/Content/Compute/Tasks/gettingmetadata.htm); the EKS Pod
  // Identity Agent at 169.254.170.23 and Scaleway at 169.254.42.42 (cited with their IPv6).
  ['169.254.0.0', 16],
  // "This network" (RFC 1122 §3.2.1.3): Linux connects 0.0.0.0 to the local host.
  ['0.0.0.0', 8],
];

const IPV4_ADDRESSES: readonly string[] = [
  // Alibaba Cloud ECS metadata:
  // https://www.alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata
  '100.100.100.200',
  // Azure WireServer, the host node's fixed endpoint (extension settings, certificates):
  // https://learn.microsoft.com/azure/virtual-network/what-is-ip-address-168-63-129-16
  '168.63.129.16',
  // Oracle Cloud at Customer (OCI Classic) metadata: https://docs.oracle.com/en/cloud/
  // cloud-at-customer/occ-get-started/retrieve-predefined-instance-metadata.html
  '192.0.0.192',
];

/**
 * Prefixes under which an IPv6 address carries an IPv4 one that a host may turn back into
 * that IPv4 destination: IPv4-mapped (RFC 4291 §2.5.5.2) and the NAT64 well-known prefix
 * (RFC 6052 §2.1).
 */
const IPV4_IN_IPV6_PREFIXES = ['::ffff:', '64:ff9b::'] as const;

const IPV6_SUBNETS: readonly (readonly [string, number])[] = [
  ['fe80::', 10], // link-local (RFC 4291 §2.5.6)
];

const IPV6_ADDRESSES: readonly string[] = [
  // Unspecified (RFC 4291 §2.5.2): connects to the local host, like 0.0.0.0.
  '::',
  // AWS instance metadata over IPv6:
  // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
  'fd00:ec2::254',
  // AWS EKS Pod Identity Agent (hands out credentials):
  // https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html
  'fd00:ec2::23',
  // GCP metadata server over IPv6:
  // https://cloud.google.com/compute/docs/metadata/querying-metadata
  'fd20:ce::254',
  // Scaleway instance metadata over IPv6:
  // https://docs.cloud-init.io/en/latest/reference/datasources/scaleway.html
  'fd00:42::42',
];

/**
 * Names of the metadata service (belt and braces: their answer is a refused address
 * anyway). GCP documents both `metadata.google.internal` and the short `metadata`:
 * https://cloud.google.com/compute/docs/metadata/querying-metadata
 */
const REFUSED_NAMES: ReadonlySet<string> = new Set(['metadata.google.internal', 'metadata']);

const REFUSED_ADDRESSES = (() => {
  const list = new BlockList();
  for (const [network, prefix] of IPV4_SUBNETS) {
    list.addSubnet(network, prefix, 'ipv4');
    for (const v6 of IPV4_IN_IPV6_PREFIXES) list.addSubnet(v6 + network, prefix + 96, 'ipv6');
  }
  for (const address of IPV4_ADDRESSES) {
    list.addAddress(address, 'ipv4');
    for (const v6 of IPV4_IN_IPV6_PREFIXES) list.addAddress(v6 + address, 'ipv6');
  }
  for (const [network, prefix] of IPV6_SUBNETS) list.addSubnet(network, prefix, 'ipv6');
  for (const address of IPV6_ADDRESSES) list.addAddress(address, 'ipv6');
  return list;
})();

/** True when `address`, an IP address in any spelling Node reads, is a refused one. */
export function isRefusedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return REFUSED_ADDRESSES.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * True when a bare canonical host (targets.ts: lower case, no trailing dot, an IPv6 address
 * without brackets) is a refused address or a metadata name.
 */
export function isRefusedHost(host: string): boolean {
  return isIP(host) !== 0 ? isRefusedAddress(host) : REFUSED_NAMES.has(host);
}
