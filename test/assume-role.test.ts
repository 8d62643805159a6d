// AssumeRole mode: sts.roleArn switches the STS action and names the user in RoleSessionName.
import assert from 'node:assert/strict'
import request from 'supertest'
import { roleSessionName } from '../src/sts.js'
import { startFixture, type Fixture } from './support/app.js'
import { SLOW_CLOCK_ALLOWANCE_SECONDS } from '../src/response.js'

const ROLE_ARN = 'qcs::cam::uin/100000000001:roleName/cos-uploader'

describe('AssumeRole mode', () => {
  let fixture: Fixture
  before(async () => {
    fixture = await startFixture({ durationSeconds: 3600, sts: { roleArn: ROLE_ARN } })
  })
  after(() => fixture.close())
  beforeEach(() => fixture.sts.reset())

  it('calls AssumeRole with the role, a session name from the subject and the policy', async () => {
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice@example.com').expect(200)
    assert.equal(fixture.sts.calls.length, 1)
    const call = fixture.sts.calls[0]!
    assert.equal(call.action, 'AssumeRole')
    assert.equal(call.outcome, 'ok')
    assert.equal(call.roleArn, ROLE_ARN)
    assert.equal(call.roleSessionName, 'alice@example.com')
    assert.equal(call.durationSeconds, 3600)
    assert.deepEqual((call.policy as { statement: unknown[] }).statement.length, 1)
    assert.equal(res.body.expiredTime - res.body.startTime, 3600 + SLOW_CLOCK_ALLOWANCE_SECONDS) // startTime answers 15 min early for slow device clocks
  })

  it('sanitises the session name to [\\w+=,.@-], 2..128 characters', () => {
    assert.equal(roleSessionName('alice@example.com'), 'alice@example.com')
    assert.equal(roleSessionName('爱丽丝 smith'), '____smith')
    assert.equal(roleSessionName('a'), 'u_a')
    assert.equal(roleSessionName('x'.repeat(200)).length, 128)
    assert.match(roleSessionName('a:b;c|d'), /^[\w+=,.@-]{2,128}$/)
  })

  it('a subject with characters outside that set still gets a session name STS accepts', async () => {
    await request(fixture.app).get('/creds').set('x-user', encodeURIComponent('爱丽丝')).expect(200)
    assert.equal(fixture.sts.calls[0]!.outcome, 'ok')
  })
})
