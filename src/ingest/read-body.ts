import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors';

/**
 * Reads a JSON body, refusing more than `maxBytes` before buffering it all (413), and anything
 * that is not JSON (400). Nothing downstream ever sees unparsed text.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const text = (await readRawBody(req, maxBytes)).toString('utf8');
  if (text.trim() === '') throw new AppError('BAD_REQUEST', 'body: empty; send the incident as JSON');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError('BAD_REQUEST', `body: not valid JSON (${(e as Error).message})`);
  }
}

/** The body exactly as received (a signature is over these bytes), refusing more than `maxBytes` (413). */
export async function readRawBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    req.resume();
    throw new AppError('PAYLOAD_TOO_LARGE', `body: larger than ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      req.resume();
      throw new AppError('PAYLOAD_TOO_LARGE', `body: larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
