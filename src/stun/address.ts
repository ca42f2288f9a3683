/** A transport address (IP and port), RFC 8489 section 3. `address` is the canonical text form. */
export interface TransportAddress {
  family: 'IPv4' | 'IPv6';
  address: string;
  port: number;
}
