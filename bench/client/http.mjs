// The load client's HTTP: keep-alive agents, CSRF and login as a browser does them, the PATCH of
// an update, and requests unrelated to the updates (bench/clients.py describes the protocol).

import http from "node:http";
import { performance } from "node:perf_hooks";

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
// Connections of their own for requests unrelated to the updates (`unrelatedRequests`), so that
// none waits for another's connection.
const aside = new http.Agent({ keepAlive: true, maxSockets: 8 });
const run = Math.random().toString(36).slice(2, 8);
let seq = 0;

export const now = () => performance.now();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// 200 for a PATCH, 201 for a create.
export const succeeded = (response) => response.status >= 200 && response.status < 300;

function request(base, method, path, { cookie, csrftoken, body, through = agent } = {}) {
  const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
  const headers = { Accept: "application/json" };
  if (cookie) headers.Cookie = cookie;
  if (csrftoken) headers["X-CSRFToken"] = csrftoken;
  if (payload) {
    headers["Content-Type"] = "application/json";
    headers["Content-Length"] = payload.length;
  }
  return new Promise((resolve, reject) => {
    const t0 = now();
    const req = http.request(new URL(path, base), { method, headers, agent: through }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        resolve({
          status: res.statusCode,
          headers: res.headers,
          json: text && res.headers["content-type"]?.includes("json") ? JSON.parse(text) : null,
          sent: t0,
          received: now(),
        });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

function cookies(response) {
  const jar = {};
  for (const line of response.headers["set-cookie"] || []) {
    const [pair] = line.split(";");
    const index = pair.indexOf("=");
    jar[pair.slice(0, index).trim()] = pair.slice(index + 1).trim();
  }
  return jar;
}

export async function csrf({ http: base }) {
  const response = await request(base, "GET", "/api/auth/csrf");
  return { csrftoken: cookies(response).csrftoken };
}

export async function login({ http: base, username, password }) {
  const { csrftoken } = await csrf({ http: base });
  const response = await request(base, "POST", "/api/auth/login", {
    cookie: `csrftoken=${csrftoken}`,
    csrftoken,
    body: { username, password },
  });
  if (response.status !== 200) throw new Error(`login of ${username}: HTTP ${response.status}`);
  const jar = cookies(response);
  return { sessionid: jar.sessionid, csrftoken: jar.csrftoken || csrftoken, user: response.json };
}

// The update of a target: a PATCH, or the request its `method` names (a create's POST).
export function patch(base, target) {
  seq += 1;
  return request(base, target.method || "PATCH", target.path, {
    cookie: target.cookie,
    csrftoken: target.csrftoken,
    body: { [target.field]: `${run}-${seq}` },
  });
}

// Requests unrelated to the updates: a GET of `path` (with `cookie`) now and every `every` ms,
// whether the previous ones were answered or not, until stopped. Stopping waits for the last
// answers and gives the response times (send to whole response).
export function unrelatedRequests(base, { path, cookie, every }) {
  const out = { times: [], http_errors: 0 };
  const pending = new Set();
  const send = () => {
    const answered = request(base, "GET", path, { cookie, through: aside })
      .then(
        (response) => {
          if (succeeded(response)) out.times.push(response.received - response.sent);
          else out.http_errors += 1;
        },
        () => {
          out.http_errors += 1;
        },
      )
      .finally(() => pending.delete(answered));
    pending.add(answered);
  };
  send();
  const timer = setInterval(send, every);
  return async () => {
    clearInterval(timer);
    await Promise.all(pending);
    return out;
  };
}
