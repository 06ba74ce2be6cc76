// Forged signatures that differ from the real one only at its end, so that a comparison
// which stops early (after the first bytes) lets them through.

function flipped(digit: string): string {
  return (parseInt(digit, 16) ^ 1).toString(16);
}

/** `hex` with its last byte changed: once in its last hex digit, once in the digit before it. */
export function lastByteVariants(hex: string): string[] {
  const end = hex.length;
  return [
    hex.slice(0, end - 1) + flipped(hex[end - 1]!),
    hex.slice(0, end - 2) + flipped(hex[end - 2]!) + hex[end - 1]!,
  ];
}
