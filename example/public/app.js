// Browser side of the example: toy login, cos-js-sdk-v5 fed by /api/cos-credentials, upload with progress, listing, and a refused upload.
/* global document, COS */
'use strict'

const $ = (id) => document.getElementById(id)

let session = null // { user, users, bucket, region, cos: { domain, protocol } | null }
let cos = null // one client per login state: logging out must drop the key the SDK caches
let credentialError = null // the route's own message for the last refused key request

function log(text, kind) {
  const item = document.createElement('li')
  item.textContent = `${new Date().toLocaleTimeString()}  ${text}`
  if (kind) item.className = kind
  $('log').prepend(item)
  while ($('log').children.length > 40) $('log').lastChild.remove()
}

function setStatus(state, text) {
  $('status').dataset.state = state
  $('status').textContent = text
}

function setProgress(percent) {
  const value = Math.max(0, Math.min(100, Math.round(percent)))
  $('progress').value = value
  $('percent').textContent = `${value} %`
}

/** "Unauthenticated: Sign in to get upload credentials. (HTTP 401)", from the route's JSON error. */
function describeRouteError(res, body) {
  const error = body && body.error
  if (!error) return `The credentials route answered HTTP ${res.status}.`
  const retry = res.headers.get('Retry-After')
  return `${error.code}: ${error.message}${retry ? ` Retry in ${retry} s.` : ''} (HTTP ${res.status})`
}

/**
 * cos-js-sdk-v5 calls this whenever it needs a key. It must call back on every path, or the upload
 * waits forever: a refused request keeps the route's message aside and calls back with nothing,
 * which fails the upload at once.
 */
function getAuthorization(_options, callback) {
  credentialError = null
  fetch('/api/cos-credentials', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(async (res) => {
      const body = await res.json().catch(() => null)
      if (!res.ok || !body || !body.credentials) {
        credentialError = describeRouteError(res, body)
        log(`GET /api/cos-credentials → ${credentialError}`, 'bad')
        return callback({})
      }
      const until = new Date(body.expiredTime * 1000).toLocaleTimeString()
      const where = [...new Set(body.scope.flatMap((statement) => statement.prefixes))].join(', ')
      log(`GET /api/cos-credentials → 200: a key for ${where}, valid until ${until}`, 'ok')
      callback({
        TmpSecretId: body.credentials.tmpSecretId,
        TmpSecretKey: body.credentials.tmpSecretKey,
        SecurityToken: body.credentials.sessionToken,
        StartTime: body.startTime,
        ExpiredTime: body.expiredTime,
      })
    })
    .catch((error) => {
      credentialError = `The credentials request failed: ${error.message}`
      log(credentialError, 'bad')
      callback({})
    })
}

function createCos() {
  // Offline, the SDK is aimed at the local COS; with real keys it uses COS's own domain.
  const target = session.cos
    ? { Domain: session.cos.domain, Protocol: session.cos.protocol, AutoSwitchHost: false }
    : { Protocol: 'https:' }
  const client = new COS({ ...target, getAuthorization })
  client.on('after-receive', (receive) => {
    const url = new URL(receive.options.url)
    const query = [url.search.slice(1), new URLSearchParams(receive.options.qs || {}).toString()]
      .filter(Boolean)
      .join('&')
      .replace(/(uploadId=)(\w{8})\w+/, '$1$2…') // upload ids are long; the start tells them apart
    const status = receive.statusCode || 'network error'
    const ok = status >= 200 && status < 300
    log(`COS ${receive.options.method} ${decodeURIComponent(url.pathname)}${query ? `?${query}` : ''} → ${status}`, ok ? '' : 'bad')
  })
  return client
}

function otherUser() {
  return session.users.find((user) => user !== session.user)
}

function chosenFile() {
  return $('file').files[0] || null
}

function render() {
  const { user } = session
  $('mode').textContent = session.cos
    ? `offline: local STS + local COS at ${session.cos.domain} · bucket ${session.bucket}`
    : `Tencent Cloud · bucket ${session.bucket} in ${session.region}`
  $('who').textContent = user ? `Logged in as ${user}` : 'Not logged in'
  const buttons = $('login-buttons')
  buttons.replaceChildren(...session.users.map((name) => {
    const button = document.createElement('button')
    button.type = 'button'
    button.id = `login-${name}`
    button.textContent = `Log in as ${name}`
    button.className = name === user ? '' : 'secondary'
    button.addEventListener('click', () => login(name))
    return button
  }))
  $('logout').disabled = !user
  $('try-other').disabled = !user
  $('try-other').textContent = user ? `Try ${otherUser()}'s folder` : "Try another user's folder"
  const file = chosenFile()
  $('target').textContent = `uploads/${user || 'guest'}/${file ? file.name : '…'}${user ? '' : '  (not logged in)'}`
}

function upload(key, body) {
  setProgress(0)
  setStatus('uploading', `Uploading ${key}…`)
  $('upload').disabled = true
  $('try-other').disabled = true
  cos.uploadFile({
    Bucket: session.bucket,
    Region: session.region,
    Key: key,
    Body: body,
    SliceSize: 1024 * 1024, // over this, multipart upload in 1 MB parts
    onProgress: (info) => setProgress(info.percent * 100),
  }, (err, data) => {
    $('upload').disabled = false
    render()
    if (err) {
      const code = err.code || (err.error && err.error.Code)
      const requestId = (err.error && err.error.RequestId) || (err.headers && err.headers['x-cos-request-id'])
      // The key covers only the user's own folder: COS refuses anything else with AccessDenied.
      const why = code === 'AccessDenied' && session.user ? ` The key covers only uploads/${session.user}/*.` : ''
      setStatus('error', credentialError
        ? `No key, so nothing was sent to COS. ${credentialError}`
        : `COS refused ${key}: ${code ? `${code}: ` : ''}${err.message}${requestId ? ` (RequestId ${requestId})` : ''}${why}`)
      // The bar counted bytes sent; a refused upload stored none of them.
      setProgress(0)
      $('percent').textContent = 'failed'
      return
    }
    setStatus('done', `Uploaded ${key} (${body.size} bytes, ETag ${data.ETag}).`)
    refreshList()
  })
}

function refreshList() {
  const rows = $('uploads')
  if (!session.user) {
    rows.replaceChildren()
    $('list-status').textContent = 'Log in to see your uploads.'
    return
  }
  const prefix = `uploads/${session.user}/`
  cos.getBucket({ Bucket: session.bucket, Region: session.region, Prefix: prefix }, (err, data) => {
    if (err) {
      $('list-status').textContent = `Could not list ${prefix}: ${credentialError || err.message}`
      return
    }
    rows.replaceChildren(...data.Contents.map((object) => {
      const row = document.createElement('tr')
      row.dataset.key = object.Key
      for (const [text, className] of [[object.Key, ''], [`${Number(object.Size).toLocaleString()} B`, 'num'], [new Date(object.LastModified).toLocaleString(), '']]) {
        const cell = document.createElement('td')
        cell.textContent = text
        if (className) cell.className = className
        row.append(cell)
      }
      return row
    }))
    $('list-status').textContent = data.Contents.length === 0 ? `Nothing under ${prefix} yet.` : `${data.Contents.length} object(s) under ${prefix}`
  })
}

async function loadSession() {
  const res = await fetch('/api/session', { credentials: 'same-origin' })
  session = await res.json()
  cos = createCos()
  render()
  refreshList()
}

async function login(user) {
  const res = await fetch('/api/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user }),
  })
  log(`POST /api/login (${user}) → ${res.status}`, res.ok ? 'ok' : 'bad')
  setStatus('idle', res.ok ? `Logged in as ${user}. Choose a file.` : 'Login failed.')
  await loadSession()
}

async function logout() {
  const res = await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' })
  log(`POST /api/logout → ${res.status}`)
  setStatus('idle', 'Logged out. Uploading now shows what the route answers.')
  await loadSession()
}

$('logout').addEventListener('click', logout)
$('file').addEventListener('change', render)
$('refresh').addEventListener('click', refreshList)
$('upload').addEventListener('click', () => {
  const file = chosenFile()
  if (!file) return setStatus('error', 'Choose a file first.')
  upload(`uploads/${session.user || 'guest'}/${file.name}`, file)
})
$('try-other').addEventListener('click', () => {
  // The key covers only the logged-in user's folder, so COS itself refuses this one.
  const file = chosenFile() || new File([`written by ${session.user}`], 'note.txt', { type: 'text/plain' })
  upload(`uploads/${otherUser()}/${file.name}`, file)
})

loadSession().catch((error) => setStatus('error', `Could not load the session: ${error.message}`))
