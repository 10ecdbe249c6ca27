// The Pyroscope Go SDK (github.com/grafana/pyroscope-go, from the Go module proxy) in a small program this test
// writes into its temp directory and builds there (never committed; Go's build cache makes reruns fast), pushing
// to Heimdall over a real socket; the profile types and a flame graph with the program's hot function appear.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { GENEROUS_MS } from '../support/bounds.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const run = promisify(execFile);
const SDK_VERSION = 'v1.5.0';
const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

const GO_MOD = `module heimdall.test/pyroscopego

go 1.22

require github.com/grafana/pyroscope-go ${SDK_VERSION}
`;

// Runs a CPU-bound function and allocates for a few seconds with the SDK's CPU and heap profilers, uploading
// every second, then stops (which uploads the last profiles).
const MAIN_GO = `package main

import (
	"fmt"
	"os"
	"time"

	"github.com/grafana/pyroscope-go"
)

var sink []byte

//go:noinline
func heimdallGoHotLoop(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i % 7
	}
	return s
}

func main() {
	p, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: "gosdk.app",
		ServerAddress:   os.Args[1],
		Tags:            map[string]string{"env": "e2e"},
		UploadRate:      time.Second,
		ProfileTypes:    []pyroscope.ProfileType{pyroscope.ProfileCPU, pyroscope.ProfileAllocSpace, pyroscope.ProfileInuseSpace},
	})
	if err != nil {
		panic(err)
	}
	end := time.Now().Add(4 * time.Second)
	s := 0
	for time.Now().Before(end) {
		s += heimdallGoHotLoop(2000000)
		sink = make([]byte, 64*1024)
	}
	if err := p.Stop(); err != nil {
		panic(err)
	}
	fmt.Println("done", s)
}
`;

function goMissing(): string | false {
  if (process.env.CI) return false;
  const v = spawnSync('go', ['version'], { encoding: 'utf8', timeout: 30_000 });
  return v.status === 0 ? false : 'no Go toolchain (`go` is not in PATH): the Pyroscope Go SDK test needs one to build its program';
}
const skip = goMissing();

let heimdall: HeimdallProcess;
let work: string;

before(async () => {
  if (skip) return;
  heimdall = await startHeimdall({});
  work = mkdtempSync(path.join(os.tmpdir(), 'heimdall-pyroscope-go-'));
});

after(async () => {
  await heimdall?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function query(method: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${heimdall.httpUrl}/pyroscope/querier.v1.QuerierService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Record<string, unknown>;
}

test('the Pyroscope Go SDK pushes CPU and heap profiles; the flame graph holds its hot function', { skip }, async () => {
  writeFileSync(path.join(work, 'go.mod'), GO_MOD);
  writeFileSync(path.join(work, 'main.go'), MAIN_GO);
  const env = { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' };
  await run('go', ['mod', 'tidy'], { cwd: work, env, timeout: 5 * GENEROUS_MS });
  await run('go', ['build', '-o', 'app', '.'], { cwd: work, env, timeout: 5 * GENEROUS_MS });
  const { stdout } = await run(path.join(work, 'app'), [heimdall.httpUrl], { timeout: GENEROUS_MS });
  assert.match(stdout, /^done /);

  // The SDK's last upload is done when Stop returns; a commit is queryable once acknowledged.
  const types = ((await query('ProfileTypes', {})).profileTypes as { ID: string }[]).map((t) => t.ID);
  for (const id of [CPU, 'memory:alloc_space:bytes:space:bytes', 'memory:inuse_space:bytes:space:bytes']) assert.ok(types.includes(id), `${id} in ${types.join(', ')}`);
  assert.deepEqual((await query('LabelValues', { name: 'service_name' })).names, ['gosdk.app']);
  const fg = (await query('SelectMergeStacktraces', { profileTypeID: CPU, labelSelector: '{service_name="gosdk.app", env="e2e"}', start: Date.now() - 3_600_000, end: Date.now() + 60_000 }))
    .flamegraph as { names: string[]; total: string };
  assert.ok(fg.names.includes('main.heimdallGoHotLoop'), `the flame graph names the hot function: ${fg.names.join(', ')}`);
  assert.ok(Number(fg.total) > 0);
  const heap = (await query('SelectMergeStacktraces', { profileTypeID: 'memory:alloc_space:bytes:space:bytes', labelSelector: '{service_name="gosdk.app"}', start: Date.now() - 3_600_000, end: Date.now() + 60_000 }))
    .flamegraph as { names: string[] };
  assert.ok(heap.names.includes('main.main'), `the allocation flame graph names main.main: ${heap.names.join(', ')}`);
});
