// The product images as tests use them: buildah on the project's image store (where
// hack/image.sh and hack/image-pgbackrest.sh build), a working container's root filesystem, and
// the operator run from it as PID 1 (tini) of a PID namespace of its own, as a pod runs it.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { operatorReady } from '../../tools/control-plane.js';

/** buildah on the project's image store. */
export function bah(args: readonly string[]): string {
  return execFileSync('bash', ['hack/bah.sh', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface ImageConfig {
  OCIv1: {
    config: {
      User?: string;
      Entrypoint?: string[];
      Cmd?: string[];
      Env?: string[];
      Labels?: Record<string, string>;
    };
  };
}

/** An image's working container, mounted: its root filesystem on the host. */
export interface MountedImage {
  readonly image: string;
  readonly config: ImageConfig;
  readonly container: string;
  readonly rootfs: string;
  /** Runs a command inside the image as its configured user (buildah run); never throws. */
  run(args: readonly string[]): { code: number | null; out: string; err: string };
  remove(): void;
}

export function mountImage(image: string): MountedImage {
  const config = JSON.parse(bah(['inspect', '--type', 'image', image])) as ImageConfig;
  const container = bah(['from', '--pull=never', image]).trim();
  const rootfs = bah(['mount', container]).trim();
  return {
    image,
    config,
    container,
    rootfs,
    run(args) {
      const res = spawnSync(
        'bash',
        ['hack/bah.sh', 'run', '--isolation', 'chroot', container, '--', ...args],
        { encoding: 'utf8' },
      );
      return { code: res.status, out: res.stdout, err: res.stderr };
    },
    remove() {
      bah(['rm', container]);
    },
  };
}

/** `args` in the image's root as its user, with its environment only (chroot, host network). */
export function chrootCommand(image: MountedImage, args: readonly string[]): string[] {
  return [
    'chroot',
    '--userspec=10001:10001',
    image.rootfs,
    '/usr/bin/env',
    '-i',
    ...(image.config.OCIv1.config.Env ?? []),
    ...args,
  ];
}

export interface ImageOperator {
  readonly process: ChildProcess;
  readonly log: () => string;
  /** SIGTERM to PID 1 (tini), as the kubelet sends it; resolves to the exit code. */
  terminate(): Promise<number | null>;
  /** Ends every process of the PID namespace (afterAll). */
  kill(): void;
}

/**
 * `dbmigrate operator ARGS` as the image's entrypoint runs it: tini as PID 1 of a new PID
 * namespace, in the image's root with a pod's /dev/shm, as the image's user, on the host's
 * network; resolves once its /readyz answers on `port`.
 */
export async function startImageOperator(
  image: MountedImage,
  port: number,
  args: readonly string[],
  options: {
    /** /dev/shm's size as tmpfs takes it: the runtimes' default 64m, or what the chart mounts. */
    readonly shm?: string;
  } = {},
): Promise<ImageOperator> {
  const child = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--kill-child',
      '--mount',
      `--mount-proc=${image.rootfs}/proc`,
      // A pod's /dev/shm: a tmpfs open to all.
      'sh',
      '-c',
      `mount -t tmpfs -o size=${options.shm ?? '64m'},mode=1777 shm "$0/dev/shm" && exec "$@"`,
      image.rootfs,
      ...chrootCommand(image, [
        '/usr/bin/tini',
        '--',
        'dbmigrate',
        'operator',
        '--http-addr',
        `127.0.0.1:${String(port)}`,
        ...args,
      ]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const tini = (): number[] =>
    spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map(Number);
  const operator: ImageOperator = {
    process: child,
    log: () => log,
    terminate() {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const [pid] = tini();
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
      return exited;
    },
    kill() {
      if (child.exitCode !== null) return;
      // Kill the namespace's init (tini): that ends every process in the PID namespace.
      // Killing unshare alone would not, and --kill-child's death signal does not survive
      // chroot --userspec changing the user.
      for (const pid of tini()) process.kill(pid, 'SIGKILL');
      child.kill('SIGKILL');
    },
  };
  for (let i = 0; i < 300 && !(await operatorReady(port)); i++) {
    if (child.exitCode !== null) throw new Error(`operator exited:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await operatorReady(port))) {
    operator.kill();
    throw new Error(`operator not ready after 30 s:\n${log}`);
  }
  return operator;
}
