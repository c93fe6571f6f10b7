/**
 * Masks a phone number for logs and public events: keeps the country/operator prefix and the last four
 * digits, which is what a call-centre agent needs to recognise a customer, and nothing that identifies them.
 * `13812345678` → `138****5678`, `+8613812345678` → `+86138****5678`.
 */
export function maskMobile(mobile: string): string {
  const value = mobile.replace(/[\s-]/g, '');
  if (value.length < 8) return '*'.repeat(Math.max(0, value.length - 2)) + value.slice(-2);
  return `${value.slice(0, value.length - 8)}****${value.slice(-4)}`;
}

/** `zhang.san@example.com` → `z***@example.com`; anything that is not an address → `***`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1 || at === email.length - 1) return '***';
  return `${email[0] ?? ''}***${email.slice(at)}`;
}
