// An in-memory ImageSink for tests: blobs keyed by sha256, as the real blob store keys them.
import { createHash } from 'node:crypto';
import type { ImageSink } from '../../extractors/types.ts';

export function memorySink(): { sink: ImageSink; blobs: Map<string, { bytes: Buffer; contentType: string }> } {
  const blobs = new Map<string, { bytes: Buffer; contentType: string }>();
  const sink: ImageSink = async (bytes, contentType) => {
    const key = createHash('sha256').update(bytes).digest('hex');
    blobs.set(key, { bytes: Buffer.from(bytes), contentType });
    return key;
  };
  return { sink, blobs };
}
