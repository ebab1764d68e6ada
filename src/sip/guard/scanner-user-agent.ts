/**
 * SIP_SCANNER_USER_AGENTS: the tools that sweep the internet for SIP servers to guess at
 * (SIPVicious' "friendly-scanner", sipcli, ...) say so in their User-Agent. A request
 * carrying one of these words bans its source at once: no legitimate phone sends them.
 */
export function scannerWord(userAgent: string | undefined, words: readonly string[]): string | undefined {
  if (!userAgent || words.length === 0) return undefined;
  const agent = userAgent.toLowerCase();
  return words.find((word) => agent.includes(word));
}
