// COS-shaped XML: the error body and the few result documents the local COS answers with.

/** An error the local COS answers with, as COS would: HTTP status, COS code and message. */
export class CosError extends Error {
  override readonly name = 'CosError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** A child element: text is escaped; an array is a list of child elements. */
export type XmlNode = [name: string, content: string | number | XmlNode[]]

const ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ENTITIES[c] ?? c)
}

function render([name, content]: XmlNode): string {
  const inner = Array.isArray(content) ? content.map(render).join('') : escapeXml(String(content))
  return `<${name}>${inner}</${name}>`
}

/** A whole document with the XML declaration, as COS sends it. */
export function xmlDocument(root: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render(root)}`
}

/** `<Error><Code/><Message/><Resource/><RequestId/></Error>`, COS's error body. */
export function errorDocument(error: CosError, resource: string, requestId: string): string {
  return xmlDocument([
    'Error',
    [
      ['Code', error.code],
      ['Message', error.message],
      ['Resource', resource],
      ['RequestId', requestId],
    ],
  ])
}

/**
 * Reads `<Part><PartNumber>n</PartNumber><ETag>…</ETag></Part>` items of a CompleteMultipartUpload
 * body. The format is fixed and flat, so a bounded pattern is enough; anything else is MalformedXML.
 */
export function readCompleteParts(body: string): Array<{ partNumber: number; etag: string }> {
  if (!/^\s*(<\?xml[^>]*\?>\s*)?<CompleteMultipartUpload>/.test(body)) throw malformed()
  const parts: Array<{ partNumber: number; etag: string }> = []
  for (const match of body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const inner = match[1] ?? ''
    const partNumber = /<PartNumber>\s*(\d{1,5})\s*<\/PartNumber>/.exec(inner)?.[1]
    const etag = /<ETag>([^<]*)<\/ETag>/.exec(inner)?.[1]
    if (partNumber === undefined || etag === undefined) throw malformed()
    parts.push({ partNumber: Number(partNumber), etag: unescapeXml(etag).trim() })
  }
  if (parts.length === 0) throw malformed()
  return parts
}

function unescapeXml(text: string): string {
  return text.replace(/&(quot|amp|lt|gt|apos|#\d+);/g, (_, entity: string) => {
    const named: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" }
    return named[entity] ?? String.fromCharCode(Number(entity.slice(1)))
  })
}

function malformed(): CosError {
  return new CosError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against the published schema.')
}
