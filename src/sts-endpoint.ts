// Where an STS endpoint points: loopback (the SDK must not send it through http_proxy) or private (plain HTTP may be allowed).

/** The host part of `host[:port]`, lower-cased. */
function hostOf(endpoint: string): string {
  return endpoint.replace(/:\d+$/, '').toLowerCase()
}

/** The four numbers of a dotted IPv4 address, or undefined for anything else (names included). */
function ipv4Of(host: string): [number, number, number, number] | undefined {
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host)?.slice(1).map(Number)
  return octets === undefined || octets.some((octet) => octet > 255) ? undefined : (octets as [number, number, number, number])
}

/** `localhost` or 127.0.0.0/8: a local STS (tests, the example). */
export function isLoopbackEndpoint(endpoint: string): boolean {
  const host = hostOf(endpoint)
  return host === 'localhost' || ipv4Of(host)?.[0] === 127
}

/**
 * Loopback or a private (RFC 1918) address, where a plain-HTTP hop never leaves the machine or the private
 * network. Other names never count: a name can resolve anywhere.
 */
export function isPrivateEndpoint(endpoint: string): boolean {
  if (isLoopbackEndpoint(endpoint)) return true
  const [a, b] = ipv4Of(hostOf(endpoint)) ?? []
  return a === 10 || (a === 172 && b !== undefined && b >= 16 && b <= 31) || (a === 192 && b === 168)
}
