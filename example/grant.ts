// The example's grant: each user may upload to, read and list their own folder, and nothing else.
import type { Grant } from '../src/index.js'

/** The toy login's users. */
export const USERS = ['alice', 'bob'] as const
export type User = (typeof USERS)[number]

export const isUser = (name: unknown): name is User => typeof name === 'string' && (USERS as readonly string[]).includes(name)

/** `uploads/<user>/`: everything a user may touch lies under it. */
export const folderOf = (user: string): string => `uploads/${user}/`

export function grantFor(user: User): Grant {
  // A {subject} template: the router puts the user there, so the guard knows where the subject sits.
  const folder = 'uploads/{subject}/*'
  return {
    subject: user,
    // Writes and reads are separate statements, so neither's actions ever meet the other's resources.
    statements: [
      {
        // Simple upload, and the multipart calls cos-js-sdk-v5 makes for files over its 1 MB slice size
        // (it lists unfinished uploads of the key first, to resume them).
        actions: [
          'name/cos:PutObject',
          'name/cos:InitiateMultipartUpload',
          'name/cos:ListMultipartUploads',
          'name/cos:ListParts',
          'name/cos:UploadPart',
          'name/cos:CompleteMultipartUpload',
          'name/cos:AbortMultipartUpload',
        ],
        prefixes: [folder],
      },
      {
        // Download, and listing with prefix=uploads/<user>/ (COS checks a listing against its prefix).
        actions: ['name/cos:GetObject', 'name/cos:HeadObject', 'name/cos:GetBucket'],
        prefixes: [folder],
      },
    ],
  }
}
