import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** One established TCP connection, by the ports of its two ends (the local end is the process's). */
export interface Connection {
  localPort: number;
  remotePort: number;
}

/**
 * The established TCP connections whose descriptor process `pid` holds, from `/proc` (Linux):
 * which process serves a connection, or whether one still holds it.
 */
export function establishedConnections(pid: number): Connection[] {
  return tcpSockets(pid, ESTABLISHED);
}

/** The TCP ports process `pid` listens on (its own listening sockets), from `/proc` (Linux). */
export function listeningPorts(pid: number): number[] {
  return tcpSockets(pid, LISTEN).map((socket) => socket.localPort);
}

/** The states of `/proc/net/tcp` the helpers read (`st`, in hex). */
const ESTABLISHED = '01';
const LISTEN = '0A';

function tcpSockets(pid: number, state: string): Connection[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (socket) inodes.add(socket[1]!);
    } catch {
      // closed while listing
    }
  }
  const sockets: Connection[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      // sl local_address rem_address st … inode: addresses are HEX_IP:HEX_PORT.
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== state || !inodes.has(fields[9]!)) continue;
      const port = (address: string): number => parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
      sockets.push({ localPort: port(fields[1]!), remotePort: port(fields[2]!) });
    }
  }
  return sockets;
}
