// Typed cell values: the number, percentage, amount of money or date a table cell's text shows.
// Pure and cheap (it runs on every cell), and conservative: text that could be read two ways, or
// that carries anything beyond the value (footnote marks, ranges, codes), stays untyped; the raw
// text is always kept beside the value (Cell.text).
//
// Numbers
//   1234  2024  0.5  .5  +3  -3  −3 (U+2212)  (1,234) -> -1234
//   thousands: 1,234,567 (comma)  1 234 567 (space, no-break space U+00A0, narrow U+202F, thin
//   U+2009)  1'234'567 (apostrophe)  12,34,567 (Indian lakh)  1.234.567 (dots, two groups or more)
//   decimal comma only when the grouping proves it: 1.234,56  1 234,56
//   a lone dot is a decimal point: 1.234 is 1.234 (never 1234); a lone comma followed by three
//   digits is a thousands separator (1,234 is 1234); 1,5 / 0,25 stay text (could be a list "1,5")
//   not numbers: 007 (leading zeros: codes), 12-34, A12, 1.2.3, 1,23, more than 15 integer digits
//   (account numbers), exponents, suffixes (1.2m, 3bn, 1,234*), a lone sign "- 12"
// Percentages: 12.5% -> 0.125 (a fraction), 12.5 %, (3.2%) -> -0.032, -3.2%
// Currencies: a symbol or an ISO 4217 code before or after the number, with or without a space:
//   $1,200.50  € 12  12 €  £3  ¥100  USD 1,000  1,000 EUR  -$5  $-5  ($5)  $(5)
//   € £ ₹ ₩ ₽ ₺ ₪ ₫ ₱ ฿ ₴ ₦ ₡ are stored as their ISO code (EUR, GBP, …) as are US$ C$ A$ …;
//   $ and ¥ are several currencies (USD/CAD/AUD…, JPY/CNY) and are stored as the symbol.
// Dates (ISO 8601 yyyy-mm-dd out; a real calendar date or nothing):
//   2024-03-31  2024/03/31  31.03.2024 (dots: always day.month.year)
//   31/03/2024 and 03/31/2024 (also with '-'): a first number over 12 is a day (d/m/y), a second
//   number over 12 is a day (m/d/y); when both are 12 or less the text is ambiguous and is read as
//   month/day/year (the US order) unless the caller says otherwise (opts.dateOrder 'dmy'); use
//   parseColumn() to settle the order for a whole column from its unambiguous cells.
//   31 Mar 2024  31-Mar-2024  31st March 2024  March 31, 2024  Mar. 31 2024  Sept 30, 2024
//   not dates: Mar-2024, March 2024 (no day), 31/03/24 (two-digit year), 2024-02-30, 12-34
import type { TypedValue } from '../schemas/document.ts';

export type DateOrder = 'mdy' | 'dmy';

export interface ParseOptions {
  /** How to read an ambiguous numeric date such as 03/04/2024 (default 'mdy': March 4). */
  dateOrder?: DateOrder;
}

/** Currency symbols that name one currency, and prefixed dollars. */
const SYMBOL_CODES: Record<string, string> = {
  '€': 'EUR',
  '£': 'GBP',
  '₹': 'INR',
  '₩': 'KRW',
  '₽': 'RUB',
  '₺': 'TRY',
  '₪': 'ILS',
  '₫': 'VND',
  '₱': 'PHP',
  '฿': 'THB',
  '₴': 'UAH',
  '₦': 'NGN',
  '₡': 'CRC',
  'US$': 'USD',
  'C$': 'CAD',
  'CA$': 'CAD',
  'A$': 'AUD',
  'AU$': 'AUD',
  'NZ$': 'NZD',
  'HK$': 'HKD',
  'S$': 'SGD',
  'R$': 'BRL',
  'MX$': 'MXN',
  // Ambiguous: kept as the symbol.
  '$': '$',
  '¥': '¥',
  '￥': '¥',
};

/** ISO 4217 codes accepted beside a number (a closed list: "THE 12" is not money). */
const CODES = new Set(
  (
    'USD EUR GBP JPY CHF CNY CAD AUD NZD HKD SGD SEK NOK DKK ISK PLN CZK HUF RON BGN HRK RSD UAH RUB TRY ILS ' +
    'INR PKR BDT LKR KRW TWD THB IDR MYR PHP VND BRL MXN ARS CLP COP PEN UYU ZAR EGP NGN KES MAD AED SAR QAR ' +
    'KWD BHD OMR JOD CRC'
  ).split(' '),
);

const PREFIX_SYMBOL = /^(US\$|CA\$|AU\$|NZ\$|HK\$|MX\$|[CASR]\$|[$€£¥￥₹₩₽₺₪₫₱฿₴₦₡])\s?/;
const SUFFIX_SYMBOL = /\s?([€£¥￥₹₩₽₺₪₫₱฿₴₦₡]|\$)$/;
const PREFIX_CODE = /^([A-Z]{3})\s?(?=[\d(+\-.])/;
const SUFFIX_CODE = /(?<=[\d)])\s?([A-Z]{3})$/;

// Number bodies (no sign, no currency, no percent), spaces already normalised to ' '.
const PLAIN_INT = /^(?:0|[1-9]\d*)$/;
const PLAIN_DEC = /^(?:0|[1-9]\d*)?\.\d+$/;
const US_GROUPED = /^[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$/;
const INDIAN_GROUPED = /^[1-9]\d?(?:,\d{2})+,\d{3}(?:\.\d+)?$/;
const SPACE_GROUPED = /^[1-9]\d{0,2}(?: \d{3})+(?:[.,]\d+)?$/;
const APOS_GROUPED = /^[1-9]\d{0,2}(?:['’]\d{3})+(?:\.\d+)?$/;
const EU_GROUPED_DEC = /^[1-9]\d{0,2}(?:\.\d{3})+,\d+$/;
const EU_GROUPED_INT = /^[1-9]\d{0,2}(?:\.\d{3}){2,}$/;

const MAX_INT_DIGITS = 15;

/** The number a body of digits and separators shows, as a canonical decimal string ("-" free). */
function canonicalNumber(body: string): string | undefined {
  let canon: string;
  if (PLAIN_INT.test(body) || PLAIN_DEC.test(body)) canon = body;
  else if (US_GROUPED.test(body) || INDIAN_GROUPED.test(body)) canon = body.replace(/,/g, '');
  else if (APOS_GROUPED.test(body)) canon = body.replace(/['’]/g, '');
  else if (SPACE_GROUPED.test(body)) canon = body.replace(/ /g, '').replace(',', '.');
  else if (EU_GROUPED_DEC.test(body) || EU_GROUPED_INT.test(body)) canon = body.replace(/\./g, '').replace(',', '.');
  else return undefined;
  const dot = canon.indexOf('.');
  if ((dot < 0 ? canon.length : dot) > MAX_INT_DIGITS) return undefined;
  return canon;
}

function toNumber(canon: string, negative: boolean, exponent = 0): number | undefined {
  const v = Number(exponent ? `${canon}e${exponent}` : canon);
  if (!Number.isFinite(v)) return undefined;
  const signed = negative ? -v : v;
  return signed === 0 ? 0 : signed; // never -0
}

function parseNumeric(s: string): TypedValue | undefined {
  let negative = false;
  let currency: string | undefined;
  let percent = false;

  const paren = (x: string) => (x.length > 2 && x[0] === '(' && x[x.length - 1] === ')' ? x.slice(1, -1).trim() : undefined);
  const takeSign = (x: string): string | undefined => {
    const c = x[0];
    if (c !== '-' && c !== '+') return x;
    if (negative || x[1] === ' ') return undefined; // no double sign, no "- 12"
    negative = c === '-';
    return x.slice(1);
  };
  const takeCurrencyPrefix = (x: string): string | undefined => {
    let m = PREFIX_SYMBOL.exec(x);
    if (m) {
      currency = SYMBOL_CODES[m[1]!];
      return x.slice(m[0].length);
    }
    m = PREFIX_CODE.exec(x);
    if (m && CODES.has(m[1]!)) {
      currency = m[1]!;
      return x.slice(m[0].length);
    }
    return x;
  };
  const takeSuffixes = (x: string): string => {
    if (x.endsWith('%')) {
      percent = true;
      return x.slice(0, -1).trimEnd();
    }
    if (currency) return x;
    let m = SUFFIX_SYMBOL.exec(x);
    if (m) {
      currency = SYMBOL_CODES[m[1]!];
      return x.slice(0, m.index);
    }
    m = SUFFIX_CODE.exec(x);
    if (m && CODES.has(m[1]!)) {
      currency = m[1]!;
      return x.slice(0, m.index);
    }
    return x;
  };

  let x: string | undefined = s;
  // Outer parentheses: (1,234)  ($5)  (3.2%)  (12 €)
  const inner = paren(x);
  if (inner !== undefined) {
    negative = true;
    x = inner;
  }
  x = takeSign(x);
  if (x === undefined) return undefined;
  x = takeCurrencyPrefix(x);
  if (x === undefined) return undefined;
  if (currency) {
    // $-5  $(5)  € -12
    const p = paren(x);
    if (p !== undefined) {
      if (negative) return undefined;
      negative = true;
      x = p;
    }
    x = takeSign(x);
    if (x === undefined) return undefined;
  }
  x = takeSuffixes(x);
  if (percent && currency) return undefined;
  const canon = canonicalNumber(x);
  if (canon === undefined) return undefined;
  if (percent) {
    const value = toNumber(canon, negative, -2);
    return value === undefined ? undefined : { type: 'percent', value };
  }
  const value = toNumber(canon, negative);
  if (value === undefined) return undefined;
  return currency ? { type: 'currency', value, currency } : { type: 'number', value };
}

const MONTHS: Record<string, number> = {
  jan: 1, january: 1, feb: 2, february: 2, mar: 3, march: 3, apr: 4, april: 4, may: 5, jun: 6, june: 6,
  jul: 7, july: 7, aug: 8, august: 8, sep: 9, sept: 9, september: 9, oct: 10, october: 10, nov: 11,
  november: 11, dec: 12, december: 12,
};

const ISO_DATE = /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})$/;
const NUMERIC_DATE = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$/;
const DAY_MONTH_YEAR = /^(\d{1,2})(?:st|nd|rd|th)?[ -]([A-Za-z]{3,9})\.?,?[ -](\d{4})$/;
const MONTH_DAY_YEAR = /^([A-Za-z]{3,9})\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})$/;

function isoDate(y: number, m: number, d: number): TypedValue | undefined {
  if (y < 1000 || m < 1 || m > 12 || d < 1) return undefined;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (d > days) return undefined;
  return { type: 'date', value: `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}` };
}

function parseDate(s: string, order: DateOrder): TypedValue | undefined {
  let m = ISO_DATE.exec(s);
  if (m) return isoDate(+m[1]!, +m[3]!, +m[4]!);
  m = NUMERIC_DATE.exec(s);
  if (m) {
    const a = +m[1]!;
    const b = +m[3]!;
    const y = +m[4]!;
    if (m[2] === '.') return isoDate(y, b, a);
    if (a > 12) return isoDate(y, b, a);
    if (b > 12) return isoDate(y, a, b);
    return order === 'dmy' ? isoDate(y, b, a) : isoDate(y, a, b);
  }
  m = DAY_MONTH_YEAR.exec(s);
  if (m) {
    const month = MONTHS[m[2]!.toLowerCase()];
    return month ? isoDate(+m[3]!, month, +m[1]!) : undefined;
  }
  m = MONTH_DAY_YEAR.exec(s);
  if (m) {
    const month = MONTHS[m[1]!.toLowerCase()];
    return month ? isoDate(+m[3]!, month, +m[2]!) : undefined;
  }
  return undefined;
}

/** Spaces as one ' ' (no-break, narrow no-break, thin, figure spaces included), minus signs as '-'. */
function normalise(text: string): string {
  return text
    .replace(/[\u00a0\u2007\u2009\u202f\s]+/g, ' ')
    .replace(/[\u2212\ufe63\uff0d]/g, '-')
    .trim();
}

/**
 * The typed value a cell's text shows, or undefined when it shows none (empty, words, codes,
 * anything ambiguous). See the head of this file for what is read and what is not.
 */
export function parseValue(text: string, opts: ParseOptions = {}): TypedValue | undefined {
  if (text.length === 0 || text.length > 48) return undefined;
  if (!/\d/.test(text)) return undefined;
  const s = normalise(text);
  // Dates first: 2024-03-31 must not be read as anything else; they start and end with a word or digit.
  if (/^[\dA-Za-z]/.test(s) && /\d$/.test(s)) {
    const d = parseDate(s, opts.dateOrder ?? 'mdy');
    if (d) return d;
  }
  return parseNumeric(s);
}

/** The date order of a column: 'dmy' when some cell can only be day/month/year and none only month/day/year. */
export function columnDateOrder(texts: readonly string[]): DateOrder {
  let dmy = false;
  let mdy = false;
  for (const t of texts) {
    if (!t || t.length > 12) continue;
    const m = NUMERIC_DATE.exec(t.trim());
    if (!m || m[2] === '.') continue;
    const a = +m[1]!;
    const b = +m[3]!;
    if (a > 12 && b <= 12) dmy = true;
    else if (b > 12 && a <= 12) mdy = true;
  }
  return dmy && !mdy ? 'dmy' : 'mdy';
}

/** parseValue over the cells of one column, reading ambiguous dates in the column's own order. */
export function parseColumn(texts: readonly string[]): (TypedValue | undefined)[] {
  const dateOrder = columnDateOrder(texts);
  return texts.map((t) => parseValue(t, { dateOrder }));
}
