/**
 * How a caller appears in the meeting: the From display name, or the number from the
 * From URI; anything that looks like a phone number is masked to its last four digits so
 * the meeting does not learn callers' full numbers.
 */
const PHONE_NUMBER = /^\+?[\d\s().-]{5,}$/;

export function callerDisplayName(from: { name?: string; uri: string }): string {
  const display = from.name?.replace(/^"|"$/g, '').trim();
  const user = /^(?:sips?|tel):([^@;]+)/i.exec(from.uri)?.[1] ?? '';
  const name = display || safeDecode(user) || 'Phone caller';
  if (PHONE_NUMBER.test(name)) {
    const digits = name.replace(/\D/g, '');
    return `•••${digits.slice(-4)}`;
  }
  return name.slice(0, 64);
}

/** A malformed escape in a caller-supplied URI is shown as sent, not thrown. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
