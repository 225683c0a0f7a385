/**
 * A hand-written supervisor on a real control socket, for CLI tests of what a command does with
 * each answer (a real supervisor cannot be made to give most of them on cue). `answer` gets each
 * request and a `send` for that connection; `close()` ends every connection and the listener.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';

export interface FakeRequest { id: number; type: string; [key: string]: unknown }

export interface FakeSupervisor {
  close(): Promise<void>;
}

export async function fakeSupervisor(socketPath: string, answer: (req: FakeRequest, send: (message: unknown) => void, socket: Socket) => void): Promise<FakeSupervisor> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    const send = (message: unknown): void => { socket.write(`${JSON.stringify(message)}\n`); };
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const req = JSON.parse(buffered.slice(0, nl)) as FakeRequest;
        buffered = buffered.slice(nl + 1);
        answer(req, send, socket);
      }
    });
  });
  server.listen(socketPath);
  await once(server, 'listening');
  return {
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
