/**
 * Pure, bounded codecs for the two TCP framings: the Microsoft SSPI sample's and MIT krb5's
 * gss-sample (PROTOCOLS.md §1 and §2). No I/O here; acceptors feed socket chunks in.
 */

export { SspiFrameDecoder, encodeSspiFrame, encodeSspiGreeting, decodeSspiGreeting } from './sspiFrame.js';
export { TokenFlag, GssSampleFrameDecoder, encodeGssSampleFrame, classifyDataFlags } from './gssSampleFrame.js';
export type { GssSampleFrame } from './gssSampleFrame.js';
