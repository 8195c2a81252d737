import type { PricerFactory } from '../../../src/engines/pricer.js';
export function webgl2PricerFactory(_gl: WebGL2RenderingContext): PricerFactory {
  throw new Error('WebGL2 pricer not written yet');
}
