// COS action names: normalisation truth table, write classification and the named action sets.
import assert from 'node:assert/strict'
import { actionSets, isWriteAction, knownActions, normalizeAction } from '../src/cos/actions.js'

describe('cos-actions', () => {
  describe('normalizeAction', () => {
    const cases: Array<[string, string | undefined]> = [
      ['name/cos:PutObject', 'name/cos:PutObject'],
      ['cos:PutObject', 'name/cos:PutObject'],
      ['cos:GetBucket', 'name/cos:GetBucket'],
      ['name/cos:UploadPartCopy', 'name/cos:UploadPartCopy'],
      ['cos:PostObjectRestore', 'name/cos:PostObjectRestore'],
      ['name/cos:GetObjectACL', 'name/cos:GetObjectACL'],
      // The docs say action names are case-sensitive: wrong case is refused, never "fixed".
      ['cos:putobject', undefined],
      ['name/cos:PUTOBJECT', undefined],
      ['name/cos:GetObjectAcl', undefined],
      ['Name/cos:PutObject', undefined],
      ['name/COS:PutObject', undefined],
      // Wildcards, in any position.
      ['*', undefined],
      ['cos:*', undefined],
      ['name/cos:*', undefined],
      ['name/cos:Put*', undefined],
      ['name/cos:*Object', undefined],
      // Other services, bare names, junk.
      ['name/cvm:PutObject', undefined],
      ['cam:PutObject', undefined],
      ['PutObject', undefined],
      ['name/cos:', undefined],
      ['', undefined],
      [' name/cos:PutObject', undefined],
      ['name/cos:PutObject ', undefined],
      ['name/cos:NoSuchAction', undefined],
      ['name/cos:SelectObjectContent', undefined],
      ['name/cos:constructor', undefined],
      ['name/cos:__proto__', undefined],
      ['name/name/cos:PutObject', undefined],
    ]
    for (const [input, expected] of cases) {
      it(`${JSON.stringify(input)} → ${String(expected)}`, () => {
        assert.equal(normalizeAction(input), expected)
      })
    }

    it('refuses non-strings at runtime', () => {
      for (const value of [undefined, null, 42, ['name/cos:PutObject'], { toString: () => 'name/cos:PutObject' }]) {
        assert.equal(normalizeAction(value as unknown as string), undefined)
      }
    })

    it('is idempotent on every known action', () => {
      assert.ok(knownActions.length > 30)
      for (const action of knownActions) {
        assert.match(action, /^name\/cos:[A-Z][A-Za-z]+$/)
        assert.equal(normalizeAction(action), action)
        assert.equal(normalizeAction(action.replace('name/', '')), action)
      }
    })
  })

  describe('isWriteAction', () => {
    const writes = [
      'PutObject',
      'PostObject',
      'AppendObject',
      'DeleteObject',
      'DeleteMultipleObjects',
      'PostObjectRestore',
      'PutObjectACL',
      'PutObjectTagging',
      'DeleteObjectTagging',
      'InitiateMultipartUpload',
      'UploadPart',
      'UploadPartCopy',
      'CompleteMultipartUpload',
      'AbortMultipartUpload',
      'PutBucketPolicy',
      'DeleteBucket',
    ]
    const reads = [
      'GetObject',
      'HeadObject',
      'OptionsObject',
      'GetObjectACL',
      'GetObjectTagging',
      'ListParts',
      'ListMultipartUploads',
      'GetBucket',
      'HeadBucket',
      'GetBucketObjectVersions',
      'GetService',
      'GetBucketACL',
    ]
    for (const name of writes) {
      it(`${name} is a write (both spellings)`, () => {
        assert.equal(isWriteAction(`name/cos:${name}`), true)
        assert.equal(isWriteAction(`cos:${name}`), true)
      })
    }
    for (const name of reads) {
      it(`${name} is not a write (both spellings)`, () => {
        assert.equal(isWriteAction(`name/cos:${name}`), false)
        assert.equal(isWriteAction(`cos:${name}`), false)
      })
    }
    it('treats unknown names and wildcards as writes (fail closed)', () => {
      for (const action of ['name/cos:*', '*', 'name/cos:Get*', 'name/cos:getobject', 'name/cvm:GetObject', '']) {
        assert.equal(isWriteAction(action), true, action)
      }
    })
    it('classifies every known action', () => {
      const readCount = knownActions.filter((a) => !isWriteAction(a)).length
      assert.ok(readCount > 10 && readCount < knownActions.length - 10)
    })
  })

  describe('actionSets', () => {
    it('has the documented members, all in the name/cos: form', () => {
      assert.deepEqual([...actionSets.simpleUpload], ['name/cos:PutObject', 'name/cos:PostObject'])
      assert.deepEqual([...actionSets.multipartUpload].sort(), [
        'name/cos:AbortMultipartUpload',
        'name/cos:CompleteMultipartUpload',
        'name/cos:InitiateMultipartUpload',
        'name/cos:ListMultipartUploads',
        'name/cos:ListParts',
        'name/cos:UploadPart',
      ])
      assert.deepEqual([...actionSets.upload], [...actionSets.simpleUpload, ...actionSets.multipartUpload])
      assert.deepEqual([...actionSets.download], ['name/cos:GetObject', 'name/cos:HeadObject'])
      assert.deepEqual([...actionSets.list], ['name/cos:GetBucket'])
    })

    it('only holds known actions, each once', () => {
      for (const [name, set] of Object.entries(actionSets)) {
        assert.equal(new Set(set).size, set.length, name)
        for (const action of set) assert.equal(normalizeAction(action), action, `${name}: ${action}`)
      }
    })

    it('download and list hold no writes; simpleUpload holds only writes', () => {
      assert.ok(actionSets.download.every((a) => !isWriteAction(a)))
      assert.ok(actionSets.list.every((a) => !isWriteAction(a)))
      assert.ok(actionSets.simpleUpload.every((a) => isWriteAction(a)))
    })

    it('cannot be mutated by an app', () => {
      assert.ok(Object.isFrozen(actionSets))
      assert.throws(() => (actionSets.upload as string[]).push('name/cos:DeleteObject'), TypeError)
      assert.throws(() => (knownActions as string[]).push('name/cos:Evil'), TypeError)
      assert.equal(normalizeAction('name/cos:Evil'), undefined)
    })
  })
})
