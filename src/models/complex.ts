/** Minimal complex arithmetic for characteristic functions (f64). Values are immutable pairs. */
export interface Complex {
  re: number;
  im: number;
}
