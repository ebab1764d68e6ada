/**
 * Datagrams the kernel dropped because a UDP socket's receive buffer was full: for the
 * whole machine (/proc/net/snmp Udp RcvbufErrors, what `netstat -su` calls "receive
 * buffer errors") and for the sockets bound to one local port (/proc/net/udp `drops`).
 * The machine counter includes every other process; the per-port one is the edge's own.
 */
import { readFileSync } from 'node:fs';

/** Udp RcvbufErrors since boot (all sockets on the machine, IPv4). */
export function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.trim().split(/\s+/);
  const values = lines[1]!.trim().split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')]);
}

/** Drops counted on the IPv4 UDP sockets bound to `port` (0 when none is bound). */
export function udpPortDrops(port: number): number {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').trim().split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(hexPort)) drops += Number(fields.at(-1));
  }
  return drops;
}
