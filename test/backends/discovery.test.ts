/**
 * WebGPU discovery in Node: which Vulkan drivers Dawn is offered (pure plan, fake file system),
 * and, where Mesa's drivers are really installed, that the CLI still finds SwiftShader and keeps
 * the native noise off stderr (a child process: Dawn writes to the file descriptor directly).
 */
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { icdDirectories, planVulkanDrivers, SWIFTSHADER_ICDS, validRuntimeDir, type DriverFs } from '../../src/backends/webgpu/vulkanDrivers.js';
import { distBuilt, spawnCli } from '../cli/spawn.js';

const SW = SWIFTSHADER_ICDS[0];
const MESA = ['intel_hasvk_icd.x86_64.json', 'intel_icd.x86_64.json', 'lvp_icd.x86_64.json', 'radeon_icd.x86_64.json'];

function fakeFs(dirs: Record<string, string[]>, files: string[]): DriverFs {
  return { exists: (p) => files.includes(p), jsonFiles: (d) => dirs[d] ?? [] };
}

const ENV = { HOME: '/home/u' };

describe('Vulkan driver plan', () => {
  it('offers the system drivers first, then SwiftShader, and leaves lavapipe out', () => {
    const plan = planVulkanDrivers(ENV, fakeFs({ '/usr/share/vulkan/icd.d': MESA, '/etc/vulkan/icd.d': ['nvidia_icd.json'] }, [SW]));
    expect(plan.files).toEqual([
      '/etc/vulkan/icd.d/nvidia_icd.json',
      '/usr/share/vulkan/icd.d/intel_hasvk_icd.x86_64.json',
      '/usr/share/vulkan/icd.d/intel_icd.x86_64.json',
      '/usr/share/vulkan/icd.d/radeon_icd.x86_64.json',
      SW,
    ]);
    expect(plan.tried).toMatch(/lvp_icd.*skipped/);
    expect(plan.tried).toContain('SwiftShader');
  });

  it('offers lavapipe when SwiftShader is missing, and says what to install', () => {
    const plan = planVulkanDrivers(ENV, fakeFs({ '/usr/share/vulkan/icd.d': MESA }, []));
    expect(plan.files).toContain('/usr/share/vulkan/icd.d/lvp_icd.x86_64.json');
    expect(plan.tried).toContain('apt-get install libvulkan1 chromium-common');
  });

  it('offers lavapipe with --verbose so Dawn says why it rejects it', () => {
    const plan = planVulkanDrivers(ENV, fakeFs({ '/usr/share/vulkan/icd.d': MESA }, [SW]), true);
    expect(plan.files).toContain('/usr/share/vulkan/icd.d/lvp_icd.x86_64.json');
    expect(plan.files?.at(-1)).toBe(SW);
  });

  it('SwiftShader alone on a box without system drivers', () => {
    expect(planVulkanDrivers(ENV, fakeFs({}, [SW])).files).toEqual([SW]);
  });

  it('never touches a driver list the user set', () => {
    for (const key of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES']) {
      const plan = planVulkanDrivers({ ...ENV, [key]: '/x/my_icd.json' }, fakeFs({ '/usr/share/vulkan/icd.d': MESA }, [SW]));
      expect(plan.files).toBeUndefined();
      expect(plan.tried).toContain('/x/my_icd.json');
    }
  });

  it('searches the loader path (XDG config and data dirs, home)', () => {
    const dirs = icdDirectories({ HOME: '/h', XDG_DATA_DIRS: '/opt/a:/opt/b', XDG_CONFIG_DIRS: '/cfg' });
    expect(dirs).toEqual(['/cfg/vulkan/icd.d', '/etc/vulkan/icd.d', '/h/.local/share/vulkan/icd.d', '/opt/a/vulkan/icd.d', '/opt/b/vulkan/icd.d']);
    const plan = planVulkanDrivers({ HOME: '/h', XDG_DATA_DIRS: '/opt/a' }, fakeFs({ '/opt/a/vulkan/icd.d': ['lvp_icd.json', 'nv.json'] }, [SW]));
    expect(plan.files).toEqual(['/opt/a/vulkan/icd.d/nv.json', SW]);
  });

  it('accepts only a private 0700 runtime directory of ours', () => {
    const dir = (mode: number, uid: number) => ({ isDirectory: () => true, mode: 0o40000 | mode, uid });
    expect(validRuntimeDir(dir(0o700, 5), 5)).toBe(true);
    expect(validRuntimeDir(dir(0o755, 5), 5)).toBe(false);
    expect(validRuntimeDir(dir(0o700, 6), 5)).toBe(false);
    expect(validRuntimeDir(undefined, 5)).toBe(false);
  });
});

const mesaDir = '/usr/share/vulkan/icd.d';
const lavapipe = existsSync(mesaDir) && readdirSync(mesaDir).some((f) => f.startsWith('lvp_icd'));
const swiftshader = SWIFTSHADER_ICDS.some((p) => existsSync(p));
const required = process.env.VOLFIT_REQUIRE_WEBGPU === '1';
// .ci/run installs Mesa's Vulkan drivers so this runs there; elsewhere it needs them present.
if (!lavapipe || !swiftshader || !distBuilt()) {
  if (required) throw new Error('VOLFIT_REQUIRE_WEBGPU=1 needs Mesa Vulkan drivers (lavapipe), SwiftShader and a built dist/ for the discovery test');
  console.warn('[volfit tests] skipping the Mesa discovery test: needs mesa-vulkan-drivers, chromium-common and npm run build');
}

describe.skipIf(!lavapipe || !swiftshader || !distBuilt())('WebGPU discovery with Mesa drivers installed', () => {
  const args = ['price', '--model', 'heston', '--params', 'v0=0.04,kappa=4,theta=0.25,sigma=1,rho=-0.5', '--spot', '100', '--expiry', '1', '--strikes', '90,100', '--type', 'call', '--backend', 'webgpu'];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.VK_ICD_FILENAMES;
  delete env.VK_DRIVER_FILES;
  delete env.XDG_RUNTIME_DIR;

  it('--backend webgpu finds SwiftShader and prints one line, no native noise', async () => {
    const r = await spawnCli(args, { env });
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^volfit: backend webgpu \(.*swiftshader.*\)$/i)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1,100,call,');
  });

  it('--verbose shows the drivers offered and Dawn\'s own reasons', async () => {
    const r = await spawnCli(['--verbose', ...args], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Vulkan drivers offered to Dawn');
    expect(r.stderr).toMatch(/lvp_icd/);
  });

  it('with no driver Dawn accepts, the error says what was tried', async () => {
    const r = await spawnCli(args, { env: { ...env, VK_ICD_FILENAMES: `${mesaDir}/lvp_icd.x86_64.json` } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/volfit: error: --backend webgpu requested but unavailable: no WebGPU adapter answered; tried .*lvp_icd/);
  });
});
