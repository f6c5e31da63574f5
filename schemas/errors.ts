// Errors are values with a code. Every failure recorded against a document carries one of these.
export const ERROR_CODES = {
  empty_file: 'the file has no bytes',
  not_a_pdf: 'named or labelled as a PDF, but the bytes are not a PDF',
  unsupported_type: 'the bytes are of no type folio reads',
  corrupt_pdf: 'the PDF is damaged or truncated and cannot be read',
  encrypted: 'the PDF is encrypted; pass --password',
  bad_password: 'the password given does not open the encrypted PDF',
  corrupt_image: 'the image cannot be decoded',
  too_many_pages: 'more pages than the configured limit (FOLIO_MAX_PAGES)',
  too_many_pixels: 'an image larger than the configured pixel limit (FOLIO_MAX_PIXELS)',
  too_large: 'more bytes than the configured limit (FOLIO_MAX_BYTES)',
  timeout: 'processing took longer than the configured limit (FOLIO_TIMEOUT_MS)',
  source_forbidden: 'the source is outside the configured roots or allowlist',
  fetch_failed: 'the source could not be fetched (network, server error, bytes not as announced)',
  invalid_message: 'a transport message is not JSON or not a valid message',
  not_found: 'the source does not exist',
  model_missing: 'the OCR or vision model file does not exist',
  model_invalid: 'the OCR or vision model file is damaged or of the wrong kind',
  corrupt_video: 'the video cannot be decoded',
  no_video_stream: 'the file has no video stream (audio only, or subtitles)',
  unsupported_codec: 'the video is in a codec the installed ffmpeg cannot decode',
  too_long: 'a video longer than the configured limit (FOLIO_MAX_VIDEO_SECONDS)',
  ffmpeg_missing: 'ffmpeg is not installed (apt-get install ffmpeg, or FFMPEG_BIN)',
  batch_locked: 'another batch run holds the data folder (its lock names it)',
  model_failed: 'the vision model gave no valid answer after its retries (invalid or truncated JSON, time-out, server error)',
  unsupported_task: 'the engine cannot do the task asked of it',
  invalid_document: 'the extracted Document failed schema validation',
  db_error: 'the database rejected the write',
  internal: 'an unexpected internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class FolioError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code], options);
    this.name = 'FolioError';
    this.code = code;
  }
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Any thrown value as a FolioError: known ones keep their code, the rest become `internal`. */
export function asFolioError(err: unknown): FolioError {
  if (err instanceof FolioError) return err;
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    const code = (err as { code: string }).code;
    if (code in ERROR_CODES) return new FolioError(code as ErrorCode, (err as unknown as Error).message);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new FolioError('internal', message, { cause: err });
}
