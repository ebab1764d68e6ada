/** Finds the installed baresip: its executable on PATH and the directory of its modules. */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export interface BaresipInstall {
  readonly executable: string;
  /** baresip looks for modules in its working directory unless the config names this. */
  readonly modulePath: string;
}

const INSTALL_HINT = 'run bash scripts/setup.sh --test';
/** Where distributions put the modules (Debian's baresip-core: /usr/lib/baresip/modules). */
const MODULE_DIRS = ['/usr/lib/baresip/modules', '/usr/local/lib/baresip/modules', '/usr/lib64/baresip/modules'];

export async function locateBaresip(): Promise<BaresipInstall> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const executable = await firstExisting(dirs.map((dir) => join(dir, 'baresip')), constants.X_OK);
  if (!executable) throw new Error(`baresip is not installed (not found on PATH): ${INSTALL_HINT}`);
  const modules = await firstExisting(MODULE_DIRS.map((dir) => join(dir, 'ctrl_tcp.so')));
  if (!modules) throw new Error(`baresip's modules are not in ${MODULE_DIRS.join(', ')}: ${INSTALL_HINT}`);
  return { executable, modulePath: join(modules, '..') };
}

async function firstExisting(paths: readonly string[], mode = constants.R_OK): Promise<string | undefined> {
  for (const path of paths) {
    if (await access(path, mode).then(() => true, () => false)) return path;
  }
  return undefined;
}
