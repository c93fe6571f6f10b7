/** Encodings a CSV upload can be in, as iconv-lite names them. */
export const CsvEncodings = ['utf8', 'utf16le', 'utf16be', 'gb18030'] as const;
export type CsvEncoding = (typeof CsvEncodings)[number];

/** Bytes looked at to tell UTF-8 from GBK. */
export const ENCODING_SAMPLE_BYTES = 64 * 1024;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether `bytes` is UTF-8, ignoring a multi-byte sequence cut off at the end of the sample. */
function isUtf8(bytes: Uint8Array, complete: boolean): boolean {
  let end = bytes.length;
  if (!complete) {
    // Step back over at most 3 continuation bytes to the start of the last sequence, and drop it.
    let i = end - 1;
    while (i >= 0 && end - i <= 4 && ((bytes[i] ?? 0) & 0xc0) === 0x80) i -= 1;
    if (i >= 0 && (bytes[i] ?? 0) >= 0xc0) end = i;
  }
  try {
    strictUtf8.decode(bytes.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/**
 * Detects a CSV's encoding from its first bytes: a BOM decides; otherwise valid UTF-8 is UTF-8, and
 * anything else is read as GB18030 — what Excel on a Chinese Windows writes ("CSV" = ANSI = GBK),
 * and a superset of GBK and GB2312, so every such file decodes.
 */
export function detectCsvEncoding(
  sample: Uint8Array,
  complete: boolean,
): { encoding: CsvEncoding; bom: number } {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return { encoding: 'utf8', bom: 3 };
  if (sample[0] === 0xff && sample[1] === 0xfe) return { encoding: 'utf16le', bom: 2 };
  if (sample[0] === 0xfe && sample[1] === 0xff) return { encoding: 'utf16be', bom: 2 };
  return { encoding: isUtf8(sample, complete) ? 'utf8' : 'gb18030', bom: 0 };
}

/** What a file is, from its first bytes (and its name only to explain a refusal). */
export type SheetFormat = 'xlsx' | 'csv';
export type FormatVerdict = { ok: true; format: SheetFormat } | { ok: false; reason: string };

export function detectSheetFormat(sample: Uint8Array, filename: string): FormatVerdict {
  const zip = sample[0] === 0x50 && sample[1] === 0x4b && sample[2] === 0x03 && sample[3] === 0x04;
  const ole = sample[0] === 0xd0 && sample[1] === 0xcf && sample[2] === 0x11 && sample[3] === 0xe0;
  const name = filename.toLowerCase();
  if (ole) return { ok: false, reason: 'legacy .xls workbooks are not read; save the file as .xlsx or CSV' };
  if (zip) return { ok: true, format: 'xlsx' };
  if (name.endsWith('.xlsx'))
    return { ok: false, reason: 'the file is named .xlsx but is not an Excel workbook' };
  if (sample.length === 0) return { ok: false, reason: 'the file is empty' };
  if (sample.includes(0) && !(sample[0] === 0xff || sample[0] === 0xfe)) {
    return { ok: false, reason: 'the file is neither an .xlsx workbook nor a text CSV' };
  }
  return { ok: true, format: 'csv' };
}
