import { bad } from './params.ts';

/**
 * A trace id from a URL as Tempo reads it (`util.HexStringToTraceID`): 1–32 hex digits, either case,
 * left-padded with zeros to 128 bits. Returns the 32-digit lowercase form the store keys traces by.
 * Throws a `bad_data` ApiError with Tempo's text for anything else.
 */
export function parseTraceId(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (!/[0-9a-fA-F]/.test(text[i]!)) {
      throw bad(`trace IDs can only contain hex characters: invalid character '${text[i]}' at position ${i + 1}`);
    }
  }
  if (text.length === 0) throw bad('please provide a traceID');
  if (text.length > 32) throw bad("trace IDs can't be larger than 128 bits");
  return text.toLowerCase().padStart(32, '0');
}
