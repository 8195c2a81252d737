/**
 * Which Vulkan drivers (ICDs) Dawn is offered in Node. The Vulkan loader, left alone, offers the
 * system's ICDs only; on a GPU-less box those are often Mesa's (lavapipe, plus Intel/Radeon ICDs
 * that find no device), and Dawn rejects lavapipe, so no adapter answers even where Debian's
 * SwiftShader is installed. We therefore hand the loader an explicit list: every system ICD
 * first (a real GPU wins: Dawn ranks discrete and integrated adapters above CPU ones), then
 * SwiftShader. Lavapipe is left out while SwiftShader is there: Dawn would only reject it, with
 * a warning on stderr. A list the user set (VK_ICD_FILENAMES / VK_DRIVER_FILES) is never touched.
 *
 * Pure over an injected file system so the choice is testable without the drivers installed.
 */

export interface DriverFs {
  exists(path: string): boolean;
  /** JSON file names in a directory; [] when it is missing or unreadable. */
  jsonFiles(dir: string): string[];
}

export interface DriverPlan {
  /** The ICD list to give the loader, or undefined to leave the environment alone. */
  files?: string[];
  /** One line on what was tried, for the "no adapter" error and --verbose. */
  tried: string;
  swiftshader?: string;
}

export const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

/** The loader's own search path for ICD manifests (Vulkan loader docs, Linux), in its order. */
export function icdDirectories(env: Record<string, string | undefined>): string[] {
  const home = env.HOME;
  const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const dataHome = env.XDG_DATA_HOME || (home ? `${home}/.local/share` : undefined);
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const dirs = [...configDirs.map((d) => `${d}/vulkan/icd.d`), '/etc/vulkan/icd.d'];
  if (dataHome) dirs.push(`${dataHome}/vulkan/icd.d`);
  dirs.push(...dataDirs.map((d) => `${d}/vulkan/icd.d`));
  return [...new Set(dirs.filter((d) => d.startsWith('/')))];
}

/** Mesa's lavapipe: a CPU Vulkan driver that Dawn rejects (no dynamic indexing of uniform arrays). */
export const isLavapipe = (file: string): boolean => /(^|\/)lvp_icd[^/]*\.json$/.test(file);

const shortName = (file: string) => file.slice(file.lastIndexOf('/') + 1).replace(/\.json$/, '');

export function planVulkanDrivers(env: Record<string, string | undefined>, fs: DriverFs, verbose = false): DriverPlan {
  const userList = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES;
  if (userList) return { tried: `the Vulkan drivers set in the environment (${userList})` };
  const system = icdDirectories(env).flatMap((d) => fs.jsonFiles(d).map((f) => `${d}/${f}`));
  const swiftshader = SWIFTSHADER_ICDS.find((p) => fs.exists(p));
  // Without SwiftShader lavapipe is the only CPU driver left: offer it (a later Dawn may take it).
  // With --verbose it is offered too, so Dawn's own reason for rejecting it is shown.
  const kept = swiftshader && !verbose ? system.filter((f) => !isLavapipe(f)) : system;
  const skipped = system.filter((f) => !kept.includes(f));
  const files = swiftshader ? [...kept, swiftshader] : kept;
  const parts = [
    kept.length ? `system Vulkan drivers ${kept.map(shortName).join(', ')}` : 'no system Vulkan driver',
    skipped.length ? `(${skipped.map(shortName).join(', ')} skipped: Dawn rejects lavapipe)` : '',
    swiftshader
      ? `then SwiftShader (${swiftshader})`
      : 'no SwiftShader (on Debian/Ubuntu: apt-get install libvulkan1 chromium-common)',
  ];
  return { files: files.length ? files : undefined, tried: parts.filter(Boolean).join(' '), swiftshader };
}

/**
 * XDG_RUNTIME_DIR must name a directory of ours with mode 0700, else Mesa's ICDs print
 * "XDG_RUNTIME_DIR is invalid" while probing for a display we never use.
 */
export function validRuntimeDir(stat: { isDirectory(): boolean; mode: number; uid: number } | undefined, uid: number): boolean {
  return !!stat && stat.isDirectory() && (stat.mode & 0o777) === 0o700 && stat.uid === uid;
}
