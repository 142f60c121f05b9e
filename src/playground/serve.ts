// `nnc playground`: serves the built page (static files, nothing computed per
// request) on 127.0.0.1. Only files directly in the directory are served.
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { basename, join } from "node:path";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".bin": "application/octet-stream",
};

/** Starts the server; resolves with it and its URL once it listens (port 0 picks a free port). */
export function servePlayground(dir: string, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const name = path === "/" ? "index.html" : basename(decodeURIComponent(path));
    const file = join(dir, name);
    const type = TYPES[name.slice(name.lastIndexOf("."))];
    if (type === undefined || `/${name}` !== (path === "/" ? "/index.html" : path) || !existsSync(file)) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, { "content-type": type, "cache-control": "no-cache" }).end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` }));
  });
}
