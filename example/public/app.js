// Browser side of the example, on express-cos-sts/client: toy login, three ways to get a key side by side, upload with progress, a folder with per-file progress, listing, refused uploads.
/* global document, COS */
import { createGetAuthorization, requestUpload } from '/vendor/express-cos-sts-client.js'

const $ = (id) => document.getElementById(id)
const SLICE_SIZE = 1024 * 1024 // over this, multipart upload in 1 MB parts
const FOLDER_PARALLEL = 3 // files of a folder in flight at once, as cos-js-sdk-v5's uploadFiles runs them

let session = null // { user, users, bucket, region, cos: { domain, protocol } | null }
// One helper and SDK client per flow and login state: logging out must drop every key they cache.
let clients = null
const routeRequests = { grant: 0, file: 0, server: 0 }

function log(text, kind) {
  const item = document.createElement('li')
  item.textContent = `${new Date().toLocaleTimeString()}  ${text}`
  if (kind) item.className = kind
  $('log').prepend(item)
  while ($('log').children.length > 60) $('log').lastChild.remove()
}

function setStatus(id, state, text) {
  $(id).dataset.state = state
  $(id).textContent = text
}

function setProgress(percent) {
  const value = Math.max(0, Math.min(100, Math.round(percent)))
  $('progress').value = value
  $('percent').textContent = `${value} %`
}

/** The helper's fetch, counted and logged per flow: the page sees every request the helper makes. */
function countingFetch(flow) {
  return (url, init) => {
    routeRequests[flow]++
    $(`requests-${flow}`).textContent = String(routeRequests[flow])
    const asked = init.body ? `POST ${Object.keys(JSON.parse(init.body)).join(', ')}` : 'GET'
    return fetch(url, init).then(async (res) => {
      const body = await res
        .clone()
        .json()
        .catch(() => null)
      if (res.ok && body && body.credentials) {
        const where = [...new Set((body.scope || []).flatMap((statement) => statement.prefixes))].join(', ')
        log(`${flow}: ${asked} ${url} → 200: a key for ${where}, valid until ${new Date(body.expiredTime * 1000).toLocaleTimeString()}`, 'ok')
      } else {
        log(`${flow}: ${asked} ${url} → ${res.status}${body && body.error ? ` ${body.error.code}` : ''}`, 'bad')
      }
      return res
    })
  }
}

function createCos(getAuthorization) {
  // Offline, the SDK is aimed at the local COS; with real keys it uses COS's own domain.
  const target = session.cos ? { Domain: session.cos.domain, Protocol: session.cos.protocol, AutoSwitchHost: false } : { Protocol: 'https:' }
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

function createClients() {
  const grant = createGetAuthorization({ perFile: false, fetch: countingFetch('grant') })
  const file = createGetAuthorization({ fetch: countingFetch('file') })
  return { grant: { getAuthorization: grant, cos: createCos(grant) }, file: { getAuthorization: file, cos: createCos(file) } }
}

const flow = () => document.querySelector('input[name="flow"]:checked').value
const otherUser = () => session.users.find((user) => user !== session.user)
const chosenFile = () => $('file').files[0] || null

/** "Unauthenticated: Sign in to get upload credentials. (HTTP 401)", from the helper's CredentialsError. */
function describeRouteError(error) {
  const retry = error.retryAfter === undefined ? '' : ` Retry in ${error.retryAfter} s.`
  return `${error.code}: ${error.message}${retry}${error.status ? ` (HTTP ${error.status})` : ''}`
}

/** What to tell the user about a failed upload: the route's refusal when there was no key, else COS's answer. */
function explainFailure(err, routeError, key) {
  if (routeError) return `No key, so nothing was sent to COS. ${describeRouteError(routeError)}`
  const code = err.code || (err.error && err.error.Code)
  const requestId = (err.error && err.error.RequestId) || (err.headers && err.headers['x-cos-request-id'])
  // A key covers only the user's own folder: COS refuses anything else with AccessDenied.
  const why = code === 'AccessDenied' && session.user ? ` The key covers only uploads/${session.user}/*.` : ''
  return `COS refused ${key}: ${code ? `${code}: ` : ''}${err.message}${requestId ? ` (RequestId ${requestId})` : ''}${why}`
}

/** One file through cos-js-sdk-v5; resolves with the stored key, rejects with a message to show. */
function sdkUpload(cos, getAuthorization, target, body, onProgress) {
  return new Promise((resolve, reject) => {
    cos.uploadFile({ ...target, Body: body, SliceSize: SLICE_SIZE, onProgress: (info) => onProgress(info.percent * 100) }, (err, data) => {
      if (err) reject(new Error(explainFailure(err, getAuthorization.errorFor(target.Key), target.Key)))
      else resolve({ key: target.Key, etag: data.ETag })
    })
  })
}

/** Uploads a file with a flow: the page names the key (whole grant, per file) or the server does. */
async function uploadWith(how, body, key, onProgress) {
  if (how !== 'server') {
    const { cos, getAuthorization } = clients[how]
    return sdkUpload(cos, getAuthorization, { Bucket: session.bucket, Region: session.region, Key: key }, body, onProgress)
  }
  let upload
  try {
    upload = await requestUpload({ name: body.name, size: body.size, contentType: body.type }, { fetch: countingFetch('server') })
  } catch (error) {
    throw new Error(`No key, so nothing was sent to COS. ${describeRouteError(error)}`, { cause: error })
  }
  // The key covers exactly upload.key, so this SDK client serves that one upload.
  const cos = createCos(upload.getAuthorization)
  return sdkUpload(cos, upload.getAuthorization, { Bucket: upload.bucket, Region: upload.region, Key: upload.key }, body, onProgress)
}

function render() {
  const { user } = session
  $('mode').textContent = session.cos
    ? `offline: local STS + local COS at ${session.cos.domain} · bucket ${session.bucket}`
    : `Tencent Cloud · bucket ${session.bucket} in ${session.region}`
  $('who').textContent = user ? `Logged in as ${user}` : 'Not logged in'
  $('login-buttons').replaceChildren(
    ...session.users.map((name) => {
      const button = document.createElement('button')
      button.type = 'button'
      button.id = `login-${name}`
      button.textContent = `Log in as ${name}`
      button.className = name === user ? '' : 'secondary'
      button.addEventListener('click', () => login(name))
      return button
    }),
  )
  const serverNames = flow() === 'server'
  $('logout').disabled = !user
  // With a server-chosen key the page cannot name another user's folder at all.
  $('try-other').disabled = !user || serverNames
  $('try-other').textContent = user ? `Try ${otherUser()}'s folder` : "Try another user's folder"
  const file = chosenFile()
  $('target').textContent = serverNames
    ? `uploads/${user || 'guest'}/<date>/<random>${file && /\.[a-z0-9]{1,10}$/i.test(file.name) ? file.name.slice(file.name.lastIndexOf('.')).toLowerCase() : ''}  (the server names it)`
    : `uploads/${user || 'guest'}/${file ? file.name : '…'}${user ? '' : '  (not logged in)'}`
}

function upload(how, body, key) {
  setProgress(0)
  setStatus('status', 'uploading', `Uploading ${key || body.name}…`)
  $('upload').disabled = true
  $('try-other').disabled = true
  uploadWith(how, body, key, setProgress)
    .then(
      (stored) => {
        setStatus('status', 'done', `Uploaded ${stored.key} (${body.size} bytes, ETag ${stored.etag}).`)
        refreshList()
      },
      (error) => {
        setStatus('status', 'error', error.message)
        // The bar counted bytes sent; a refused upload stored none of them.
        setProgress(0)
        $('percent').textContent = 'failed'
      },
    )
    .finally(() => {
      $('upload').disabled = false
      render()
    })
}

/** Every file of a dropped folder (DataTransferItem entries, read recursively), with its path inside the drop. */
async function filesOfEntry(entry) {
  if (entry.isFile) return [{ file: await new Promise((resolve, reject) => entry.file(resolve, reject)), path: entry.fullPath.replace(/^\//, '') }]
  const reader = entry.createReader()
  const files = []
  for (;;) {
    // readEntries answers in batches (100 in Chromium) until it answers none.
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject))
    if (batch.length === 0) return files
    for (const child of batch) files.push(...(await filesOfEntry(child)))
  }
}

function folderRow(path, size) {
  const row = document.createElement('tr')
  row.dataset.path = path
  const cells = [path, `${size.toLocaleString()} B`, '', 'waiting'].map((text) => {
    const cell = document.createElement('td')
    cell.textContent = text
    return cell
  })
  cells[1].className = 'num'
  const bar = document.createElement('progress')
  bar.max = 100
  bar.value = 0
  cells[2].append(bar)
  row.append(...cells)
  return { row, bar, result: cells[3] }
}

async function uploadFolder(entries) {
  if (!session.user) return setStatus('folder-status', 'error', 'Log in first: the route answers 401 to nobody.')
  const how = flow()
  const rows = entries.map(({ file, path }) => ({ file, path, ...folderRow(path, file.size) }))
  $('files').replaceChildren(...rows.map(({ row }) => row))
  let done = 0
  let failed = 0
  const report = () =>
    setStatus(
      'folder-status',
      done + failed === rows.length ? (failed ? 'error' : 'done') : 'uploading',
      `${done} of ${rows.length} uploaded${failed ? `, ${failed} failed` : ''} (${how === 'grant' ? 'whole-grant' : how === 'file' ? 'per-file' : 'server-chosen'} keys)`,
    )
  report()
  let next = 0
  const worker = async () => {
    while (next < rows.length) {
      const item = rows[next++]
      item.result.textContent = 'uploading'
      try {
        const stored = await uploadWith(how, item.file, `uploads/${session.user}/${item.path}`, (percent) => {
          item.bar.value = percent
        })
        item.bar.value = 100
        item.result.textContent = stored.key
        item.result.className = 'done'
        done++
      } catch (error) {
        item.result.textContent = error.message
        item.result.className = 'error'
        failed++
      }
      item.row.dataset.state = item.result.className
      report()
    }
  }
  await Promise.all(Array.from({ length: Math.min(FOLDER_PARALLEL, rows.length) }, worker))
  refreshList()
}

function refreshList() {
  const rows = $('uploads')
  if (!session.user) {
    rows.replaceChildren()
    $('list-status').textContent = 'Log in to see your uploads.'
    return
  }
  const prefix = `uploads/${session.user}/`
  // Listing is not an upload: it uses the whole-grant key, whose grant allows GetBucket on the user's folder.
  const { cos, getAuthorization } = clients.grant
  cos.getBucket({ Bucket: session.bucket, Region: session.region, Prefix: prefix, MaxKeys: 1000 }, (err, data) => {
    if (err) {
      const refused = getAuthorization.errorFor()
      $('list-status').textContent = `Could not list ${prefix}: ${refused ? describeRouteError(refused) : err.message}`
      return
    }
    rows.replaceChildren(
      ...data.Contents.map((object) => {
        const row = document.createElement('tr')
        row.dataset.key = object.Key
        for (const [text, className] of [
          [object.Key, ''],
          [`${Number(object.Size).toLocaleString()} B`, 'num'],
          [new Date(object.LastModified).toLocaleString(), ''],
        ]) {
          const cell = document.createElement('td')
          cell.textContent = text
          if (className) cell.className = className
          row.append(cell)
        }
        return row
      }),
    )
    $('list-status').textContent = data.Contents.length === 0 ? `Nothing under ${prefix} yet.` : `${data.Contents.length} object(s) under ${prefix}`
  })
}

async function loadSession() {
  const res = await fetch('/api/session', { credentials: 'same-origin' })
  session = await res.json()
  clients = createClients()
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
  setStatus('status', 'idle', res.ok ? `Logged in as ${user}. Choose a file.` : 'Login failed.')
  await loadSession()
}

async function logout() {
  const res = await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' })
  log(`POST /api/logout → ${res.status}`)
  setStatus('status', 'idle', 'Logged out. Uploading now shows what the route answers.')
  await loadSession()
}

$('logout').addEventListener('click', logout)
$('file').addEventListener('change', render)
for (const input of document.querySelectorAll('input[name="flow"]')) input.addEventListener('change', render)
$('refresh').addEventListener('click', refreshList)
$('upload').addEventListener('click', () => {
  const file = chosenFile()
  if (!file) return setStatus('status', 'error', 'Choose a file first.')
  const how = flow()
  upload(how, file, how === 'server' ? undefined : `uploads/${session.user || 'guest'}/${file.name}`)
})
$('try-other').addEventListener('click', () => {
  // A whole-grant key covers only the user's own folder, so COS refuses this; a per-file key is refused by the route first.
  const file = chosenFile() || new File([`written by ${session.user}`], 'note.txt', { type: 'text/plain' })
  upload(flow(), file, `uploads/${otherUser()}/${file.name}`)
})
$('folder').addEventListener('change', () => {
  const files = [...$('folder').files].map((file) => ({ file, path: file.webkitRelativePath || file.name }))
  $('folder').value = ''
  uploadFolder(files)
})
$('drop').addEventListener('dragover', (event) => {
  event.preventDefault()
  $('drop').classList.add('over')
})
$('drop').addEventListener('dragleave', () => $('drop').classList.remove('over'))
$('drop').addEventListener('drop', async (event) => {
  event.preventDefault()
  $('drop').classList.remove('over')
  // Entries must be taken before the first await: the drop's data is gone after the event.
  const entries = [...event.dataTransfer.items].map((item) => item.webkitGetAsEntry()).filter(Boolean)
  const files = []
  for (const entry of entries) files.push(...(await filesOfEntry(entry)))
  uploadFolder(files)
})

loadSession().catch((error) => setStatus('status', 'error', `Could not load the session: ${error.message}`))
