/**
 * Hostile scalar values shared by the fuzz generators: numbers that overflow or go
 * negative, strings with NULs, control characters and lone surrogates, bytes that are not
 * UTF-8, and values of 64 KiB and more.
 */
import fc from 'fast-check';

/** A decimal number as a peer might write one: huge, negative, fractional, signed, hex, exponent. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }).map(String),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
  fc.constantFrom(
    '0',
    '-0',
    '-1',
    '00000000000000000000001',
    '4294967295',
    '4294967296',
    '2147483648',
    '9007199254740993',
    '18446744073709551616',
    '99999999999999999999999999999999999999',
    '1.5',
    '1e3',
    '1e400',
    '0x10',
    '+5',
    ' 5',
    '5 5',
    'NaN',
    'Infinity',
    '',
    '٣',
  ),
);

const CONTROL = ['\0', '\v', '\f', '\x7f', '\x1b', '\b', '\r', '\n', '\t', '\u0085', '\u2028', '\ufeff'];

/** Text with control characters spliced in. */
export const controlText: fc.Arbitrary<string> = fc
  .tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...CONTROL), fc.string({ maxLength: 20 }))
  .map(([before, control, after]) => `${before}${control}${after}`);

/** Bytes that are not UTF-8: stray continuation bytes, overlongs, truncated sequences, surrogates. */
export const badUtf8: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom(
    Uint8Array.of(0xff),
    Uint8Array.of(0xc0, 0xaf),
    Uint8Array.of(0xe0, 0x80, 0xaf),
    Uint8Array.of(0xed, 0xa0, 0x80),
    Uint8Array.of(0xf4, 0x90, 0x80, 0x80),
    Uint8Array.of(0xc3),
    Uint8Array.of(0x80, 0x80, 0x80),
  ),
  fc.uint8Array({ minLength: 1, maxLength: 40 }),
);

/** Sizes around the 64 KiB limits (and one well beyond). */
export const hugeLength: fc.Arbitrary<number> = fc.constantFrom(16_384, 65_000, 65_535, 65_536, 65_537, 70_000, 200_000);

/** Any text, from plain ASCII to every code point (lone surrogates included). */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  controlText,
);
