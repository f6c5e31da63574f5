// What the bytes are, whatever the file is called.
export type Kind = 'pdf' | 'image' | 'video';

export interface Sniffed {
  kind: Kind;
  mime: string;
}

/** How many leading bytes `sniff` looks at. */
export const SNIFF_BYTES = 1024;

export function sniff(bytes: Uint8Array): Sniffed | undefined {
  const b = bytes;
  const ascii = (i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));
  // %PDF- may follow a little junk (some generators prepend bytes); pdf.js tolerates it too.
  const head = Buffer.from(b.subarray(0, SNIFF_BYTES)).toString('latin1');
  if (head.includes('%PDF-')) return { kind: 'pdf', mime: 'application/pdf' };
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 3) === 'PNG') return { kind: 'image', mime: 'image/png' };
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'image', mime: 'image/jpeg' };
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return { kind: 'image', mime: 'image/webp' };
  if (b.length >= 4 && (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*')) return { kind: 'image', mime: 'image/tiff' };
  if (b.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return { kind: 'image', mime: 'image/gif' };
  // Video containers (what is inside, even whether there is a picture, ffprobe says).
  if (b.length >= 12 && ascii(4, 4) === 'ftyp') return { kind: 'video', mime: ascii(8, 4) === 'qt  ' ? 'video/quicktime' : 'video/mp4' };
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return { kind: 'video', mime: head.includes('webm') ? 'video/webm' : 'video/x-matroska' };
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'AVI ') return { kind: 'video', mime: 'video/x-msvideo' };
  return undefined;
}

const EXT_MIME: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.gif': 'image/gif',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.avi': 'video/x-msvideo',
};

export const SUPPORTED_EXTENSIONS = Object.keys(EXT_MIME);

export function mimeFromName(name: string): string | undefined {
  const m = /\.[^./\\]+$/.exec(name.toLowerCase());
  return m ? EXT_MIME[m[0]] : undefined;
}
