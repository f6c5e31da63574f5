// Typed cell values: what parseValue reads, and (as important) what it leaves alone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { columnDateOrder, parseColumn, parseValue } from '../extractors/values.ts';
import { TypedValue } from '../schemas/document.ts';

const num = (value: number) => ({ type: 'number', value });
const pct = (value: number) => ({ type: 'percent', value });
const cur = (value: number, currency: string) => ({ type: 'currency', value, currency });
const date = (value: string) => ({ type: 'date', value });

function cases(list: [string, unknown][]) {
  for (const [text, expected] of list) {
    const got = parseValue(text);
    assert.deepEqual(got, expected, `parseValue(${JSON.stringify(text)})`);
    if (got) assert.ok(TypedValue.safeParse(got).success, `${JSON.stringify(text)} gives a valid TypedValue`);
  }
}

describe('parseValue', () => {
  test('plain numbers, signs and a bare year', () => {
    cases([
      ['0', num(0)],
      ['7', num(7)],
      ['2024', num(2024)],
      ['1234', num(1234)],
      ['0.5', num(0.5)],
      ['.5', num(0.5)],
      ['3.14159', num(3.14159)],
      ['+3', num(3)],
      ['-3', num(-3)],
      ['−12', num(-12)], // U+2212 minus
      ['-0', num(0)],
      ['  42  ', num(42)],
      ['999999999999999', num(999999999999999)],
    ]);
    assert.ok(Object.is((parseValue('-0') as { value: number }).value, 0), 'never -0');
  });

  test('thousands separators: comma, spaces (no-break, narrow, thin), apostrophe, lakh, dots', () => {
    cases([
      ['1,234', num(1234)],
      ['1,234,567', num(1234567)],
      ['1,234,567.89', num(1234567.89)],
      ['1 234 567', num(1234567)],
      ['1\u00a0234\u00a0567', num(1234567)],
      ['1\u202f234\u202f567', num(1234567)],
      ['1\u2009234', num(1234)],
      ['1 234,56', num(1234.56)], // space groups prove a decimal comma
      ['1 234.56', num(1234.56)],
      ["1'234'567", num(1234567)],
      ['12,34,567', num(1234567)],
      ['1.234.567', num(1234567)], // two dot groups: cannot be a decimal
      ['1.234,56', num(1234.56)],
      ['12.345.678,9', num(12345678.9)],
      ['1.234', num(1.234)], // a lone dot is a decimal point
    ]);
  });

  test('parentheses negatives', () => {
    cases([
      ['(1,234)', num(-1234)],
      ['(12.5)', num(-12.5)],
      ['( 7 )', num(-7)],
      ['(3.2%)', pct(-0.032)],
      ['($5)', cur(-5, '$')],
      ['$(1,234.50)', cur(-1234.5, '$')],
      ['(12 €)', cur(-12, 'EUR')],
    ]);
  });

  test('percentages as fractions', () => {
    cases([
      ['12.5%', pct(0.125)],
      ['12.5 %', pct(0.125)],
      ['100%', pct(1)],
      ['0%', pct(0)],
      ['1.1%', pct(0.011)],
      ['-3.2%', pct(-0.032)],
      ['−12%', pct(-0.12)],
      ['+5%', pct(0.05)],
      ['1,250%', pct(12.5)],
    ]);
  });

  test('currencies: symbols and ISO codes, before or after, with or without a space', () => {
    cases([
      ['$1,200.50', cur(1200.5, '$')],
      ['$3.00', cur(3, '$')],
      ['-$5', cur(-5, '$')],
      ['$-5', cur(-5, '$')],
      ['€ 12', cur(12, 'EUR')],
      ['€12', cur(12, 'EUR')],
      ['12 €', cur(12, 'EUR')],
      ['12€', cur(12, 'EUR')],
      ['1.234,56 €', cur(1234.56, 'EUR')],
      ['£3', cur(3, 'GBP')],
      ['¥100', cur(100, '¥')],
      ['₹1,00,000', cur(100000, 'INR')],
      ['USD 1,000', cur(1000, 'USD')],
      ['USD1,000', cur(1000, 'USD')],
      ['1,000 EUR', cur(1000, 'EUR')],
      ['1,000EUR', cur(1000, 'EUR')],
      ['CHF -12.50', cur(-12.5, 'CHF')],
      ['US$ 12', cur(12, 'USD')],
      ['C$5', cur(5, 'CAD')],
      ['HK$1,000', cur(1000, 'HKD')],
    ]);
  });

  test('dates: ISO, numeric day/month and month/day, dotted, month names', () => {
    cases([
      ['2024-03-31', date('2024-03-31')],
      ['2024/03/31', date('2024-03-31')],
      ['2024-3-5', date('2024-03-05')],
      ['31/03/2024', date('2024-03-31')], // day > 12: day/month/year
      ['03/31/2024', date('2024-03-31')], // second > 12: month/day/year
      ['31-03-2024', date('2024-03-31')],
      ['03/04/2024', date('2024-03-04')], // ambiguous: month/day/year unless told
      ['31.03.2024', date('2024-03-31')], // dots: always day.month.year
      ['03.04.2024', date('2024-04-03')],
      ['31 Mar 2024', date('2024-03-31')],
      ['31-Mar-2024', date('2024-03-31')],
      ['1 March 2024', date('2024-03-01')],
      ['31st March 2024', date('2024-03-31')],
      ['March 31, 2024', date('2024-03-31')],
      ['Mar 31 2024', date('2024-03-31')],
      ['Mar. 31, 2024', date('2024-03-31')],
      ['Sept 30, 2024', date('2024-09-30')],
      ['december 1, 2024', date('2024-12-01')],
      ['2024-02-29', date('2024-02-29')],
    ]);
    assert.deepEqual(parseValue('03/04/2024', { dateOrder: 'dmy' }), date('2024-04-03'));
    assert.deepEqual(parseValue('31/03/2024', { dateOrder: 'mdy' }), date('2024-03-31'), 'an unambiguous date ignores the hint');
  });

  test('a column settles its own date order from its unambiguous cells', () => {
    assert.equal(columnDateOrder(['01/02/2024', '25/12/2024']), 'dmy');
    assert.equal(columnDateOrder(['01/02/2024', '12/25/2024']), 'mdy');
    assert.equal(columnDateOrder(['01/02/2024', '03/04/2024']), 'mdy');
    assert.equal(columnDateOrder(['25/12/2024', '12/25/2024']), 'mdy'); // contradictory: the default
    assert.deepEqual(parseColumn(['01/02/2024', '25/12/2024', 'n/a', '7']), [date('2024-02-01'), date('2024-12-25'), undefined, num(7)]);
    assert.deepEqual(parseColumn(['01/02/2024', '12/25/2024']), [date('2024-01-02'), date('2024-12-25')]);
  });

  test('no false positives: text, codes, ranges, ambiguous or malformed values stay untyped', () => {
    for (const text of [
      '',
      ' ',
      '-',
      '—',
      '–',
      '$',
      '%',
      'n/a',
      'Total',
      'A12',
      '12A',
      'FY2024',
      'Q3 2024',
      '12-34',
      '10-20',
      '2–3',
      '1.2.3',
      '1.2.3.4',
      '1,23',
      '1,5', // a decimal comma without grouping could be a list "1,5"
      '0,25',
      '1,2345',
      '12,3456',
      '1,234,56',
      '1.234.5',
      '1 23',
      '12 345 6',
      '007',
      '0123',
      '00',
      '01,234',
      '1234567890123456', // 16 digits: an account number
      '1e5',
      '1.2m',
      '3bn',
      '1,234*',
      '1,234 (a)',
      '12.',
      '- 12',
      '--5',
      '+-5',
      '(-5)',
      '-(5)',
      '((5))',
      '(5',
      '5)',
      '$5%',
      '5% EUR',
      'EUR',
      'ABC 12',
      'THE 12',
      '12 ABC',
      '€12 €',
      '1/2',
      '12:30',
      '3/4/24',
      '31/03/24',
      '2024-02-30',
      '2023-02-29',
      '2024-13-01',
      '2024-00-10',
      '32/01/2024',
      '13/13/2024',
      '31.02.2024',
      '0999-01-01',
      '2024-03-31T10:00',
      'Mar-2024',
      'March 2024',
      'Foo 31, 2024',
      '31 Foo 2024',
      '31 Mar',
      '978-3-16-148410-0',
      '192.168.0.1',
      'v1.2',
      '1.0.0',
      'x'.repeat(60) + '1',
    ]) {
      assert.equal(parseValue(text), undefined, `parseValue(${JSON.stringify(text)}) is undefined`);
    }
  });
});
