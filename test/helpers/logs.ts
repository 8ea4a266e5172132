/** A real pino logger writing JSON lines into memory, so tests read what operators would. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/base/logger.js';

export function capturedLogger(): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  return { logger, lines, text: () => lines.join('\n') };
}
