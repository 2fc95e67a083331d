// Who a TLS certificate says its holder is, in duoraft's terms.
//
// A voter's certificate carries the subject alternative name
//
//     URI:duoraft://CLUSTER/voter/ID
//
// (like a SPIFFE id: an identity, not a host name). The peer service accepts a caller
// only with such a certificate, signed by the cluster CA, naming this cluster and another
// voter; a client accepts a member only with one naming this cluster. Host names and IPs
// in the certificate are not checked: members are found by the address they register in
// ZooKeeper, and what matters is that the other end is a voter of this cluster, not which
// name it was reached by. Client certificates may carry any identity (by convention
// URI:duoraft://CLUSTER/client/NAME): a certificate signed by the cluster CA is the proof.

const VOTER_URI = /^duoraft:\/\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\/voter\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;

/** The SAN URI a voter's certificate must carry. */
export function voterIdentity(cluster: string, id: string): string {
  return `duoraft://${cluster}/voter/${id}`;
}

/**
 * The URIs among a certificate's subject alternative names, as Node prints them
 * ("URI:a, IP Address:127.0.0.1, DNS:x"). Node writes a value that holds a comma, a quote
 * or a control character as a JSON string (URI:"a, b"), so entries are split honouring
 * quotes; a quoted value can never be a voter identity and is skipped.
 */
export function sanUris(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const out: string[] = [];
  let i = 0;
  const s = subjectAltName;
  while (i < s.length) {
    const colon = s.indexOf(':', i);
    if (colon < 0) break;
    const type = s.slice(i, colon);
    let end: number;
    let quoted = false;
    if (s[colon + 1] === '"') {
      quoted = true;
      end = colon + 2;
      while (end < s.length && s[end] !== '"') end += s[end] === '\\' ? 2 : 1;
      end += 1; // past the closing quote
    } else {
      end = s.indexOf(', ', colon + 1);
      if (end < 0) end = s.length;
    }
    if (type === 'URI' && !quoted) out.push(s.slice(colon + 1, end));
    i = s.startsWith(', ', end) ? end + 2 : end;
    if (i === end && end < s.length) break; // not the format Node writes: stop rather than guess
  }
  return out;
}

/** The voter ids of `cluster` a certificate's SAN names (normally exactly one). */
export function voterIdsIn(subjectAltName: string | undefined, cluster: string): string[] {
  const ids: string[] = [];
  for (const uri of sanUris(subjectAltName)) {
    const m = VOTER_URI.exec(uri);
    if (m && m[1] === cluster && m[2] !== undefined) ids.push(m[2]);
  }
  return ids;
}

/**
 * The one voter of `cluster` the certificate names, or why it names none: a certificate
 * naming two voters is refused, since it would let one key speak as either.
 */
export function voterIdOf(subjectAltName: string | undefined, cluster: string): { readonly id: string } | { readonly problem: string } {
  const ids = voterIdsIn(subjectAltName, cluster);
  if (ids.length === 1) return { id: ids[0]! };
  if (ids.length > 1) return { problem: `the certificate names several voters (${ids.join(', ')})` };
  const uris = sanUris(subjectAltName);
  return {
    problem: `the certificate carries no voter identity of cluster ${JSON.stringify(cluster)} (expected SAN URI ${voterIdentity(cluster, 'ID')}; found ${uris.length > 0 ? uris.join(', ') : 'no URI'})`,
  };
}
