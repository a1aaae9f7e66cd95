/**
 * `Series`: one lazy column of a {@link DataFrame}, an expression over the frame's partitions
 * (Polars' `Expr`). Series of the same frame combine element-wise (`df.col("a").add(df.col("b"))`)
 * and become new columns (`assign`), masks (`filter`) or group keys (`groupby`) without tasks of
 * their own. Computing a Series gives a Polars Series.
 *
 * @module
 */

import type { Collection, CollectionSpec } from "../collection.ts";
import { collectionSymbol } from "../collection.ts";
import type { ComputeOptions } from "../compute.ts";
import type { Delayed } from "../delayed.ts";
import type { DataFrame, HeadOptions } from "./frame.ts";
import { dtypeName, dtypeOf } from "./meta.ts";
import { inspectSymbol, seriesRepr } from "../display/repr.ts";
import { type Expr, exprToJson, pl, type PlSeries } from "./polars.ts";
import { sqlFunctionExpr } from "./sql_exprs.ts";
import type { ReductionOptions } from "./reductions.ts";

/** What a Series combines with: another Series of the same frame, or a scalar. */
export type Operand = Series | number | string | boolean | Date | null;

/** A lazy column: an expression over a DataFrame's partitions. */
export class Series implements Collection<PlSeries> {
  /** @internal Use `df.col(name)`. */
  constructor(
    /** The frame whose rows this Series follows. */
    readonly frame: DataFrame,
    /** @internal The Polars expression, evaluated per partition. */
    readonly expr: Expr,
    /** The Series' name (the column name it gets in `assign`, `groupby` results, ...). */
    readonly name: string,
  ) {}

  /** The Series' type (Polars' name). */
  get dtype(): string {
    return dtypeName(this.frame.meta.select(this.expr.alias(this.name)).getColumn(this.name).dtype);
  }

  /** How `console.log` shows a Series: Dask's structure block (name, dtype, partitions). */
  [inspectSymbol](): string {
    return seriesRepr({
      name: this.name,
      dtype: this.dtype,
      npartitions: this.npartitions,
      frameName: this.frame.name,
    });
  }

  /** The number of partitions (the frame's). */
  get npartitions(): number {
    return this.frame.npartitions;
  }

  #operand(other: Operand): Expr {
    if (other instanceof Series) {
      if (other.frame.name !== this.frame.name) {
        throw new Error(
          `Series ${this.name} and ${other.name} come from different DataFrames; element-wise ` +
            `operations need Series of the same frame (partitions align by position).`,
        );
      }
      return other.expr;
    }
    return pl.lit(other as never);
  }

  #derive(expr: Expr, name = this.name): Series {
    return new Series(this.frame, expr.alias(name), name);
  }

  /** The same values under another name. */
  rename(name: string): Series {
    return this.#derive(this.expr, name);
  }

  // Arithmetic (pandas' + - * / % ** and unary -)
  /** `this + other` */
  add(other: Operand): Series {
    return this.#derive(this.expr.add(this.#operand(other)));
  }
  /** `this - other` */
  sub(other: Operand): Series {
    return this.#derive(this.expr.sub(this.#operand(other)));
  }
  /** `this * other` */
  mul(other: Operand): Series {
    return this.#derive(this.expr.mul(this.#operand(other)));
  }
  /** `this / other` (true division, float result) */
  div(other: Operand): Series {
    return this.#derive(this.expr.cast(pl.Float64).div(this.#operand(other)));
  }
  /** `this % other` */
  mod(other: Operand): Series {
    return this.#derive(this.expr.rem(this.#operand(other)));
  }
  /** `this ** exponent` */
  pow(exponent: number): Series {
    return this.#derive(this.expr.pow(exponent));
  }
  /** `-this` */
  neg(): Series {
    return this.#derive(pl.lit(0).sub(this.expr));
  }
  /** `abs(this)` */
  abs(): Series {
    return this.#derive(this.expr.abs());
  }

  // Comparisons (null compares to null)
  /** `this > other` */
  gt(other: Operand): Series {
    return this.#derive(this.expr.gt(this.#operand(other)));
  }
  /** `this >= other` */
  ge(other: Operand): Series {
    return this.#derive(this.expr.gtEq(this.#operand(other)));
  }
  /** `this < other` */
  lt(other: Operand): Series {
    return this.#derive(this.expr.lt(this.#operand(other)));
  }
  /** `this <= other` */
  le(other: Operand): Series {
    return this.#derive(this.expr.ltEq(this.#operand(other)));
  }
  /** `this == other` */
  eq(other: Operand): Series {
    return this.#derive(this.expr.eq(this.#operand(other)));
  }
  /** `this != other` */
  ne(other: Operand): Series {
    return this.#derive(this.expr.neq(this.#operand(other)));
  }
  /** Membership in a list of values (pandas' `isin`). */
  isin(values: readonly (number | string | boolean)[]): Series {
    return this.#derive(this.expr.isIn([...values]));
  }

  // Boolean logic (pandas' & | ~)
  /** `this & other` */
  and(other: Series | boolean): Series {
    return this.#derive(this.expr.and(this.#operand(other)));
  }
  /** `this | other` */
  or(other: Series | boolean): Series {
    return this.#derive(this.expr.or(this.#operand(other)));
  }
  /** `~this` (pandas' `~df.Cancelled`). */
  not(): Series {
    return this.#derive(this.expr.not());
  }

  // Missing values and types
  /** True where the value is null. */
  isna(): Series {
    return this.#derive(this.expr.isNull());
  }
  /** True where the value is not null. */
  notna(): Series {
    return this.#derive(this.expr.isNotNull());
  }
  /** Nulls replaced by `value`. */
  fillna(value: Operand): Series {
    return this.#derive(this.expr.fillNull(this.#operand(value)));
  }
  /** Cast to another type (`"float64"`, `"int64"`, `"string"`, `"bool"`, ...). */
  astype(dtype: string): Series {
    return this.#derive(this.expr.cast(dtypeOf(dtype, "astype")));
  }

  /** Date and time parts (pandas' `.dt`): `year`, `month`, `day`, `dayofweek`, `hour`, ... */
  get dt(): DatetimeAccessor {
    return new DatetimeAccessor(this, (expr) => this.#derive(expr));
  }

  /**
   * String methods (pandas' `.str`): `contains`, `startsWith`, `endsWith`, `strip`, `lower`,
   * `upper`, `len`.
   */
  get str(): StringAccessor {
    return new StringAccessor(this, (expr) => this.#derive(expr));
  }

  // -------------------------------------------------------------------------------------------
  // As a frame, and reductions (delegated to the one-column frame)

  /** The Series as a one-column DataFrame. */
  toFrame(): DataFrame {
    return this.frame.addStep("toFrame", {
      op: "select",
      exprs: [exprToJson(this.expr.alias(this.name))],
    });
  }

  #reduce<R>(
    stat: Parameters<DataFrame["reduce"]>[1][number],
    options: ReductionOptions & { ddof?: number; q?: number },
    sqrt = false,
  ): Delayed<R> {
    return this.toFrame().reduce<R>([this.name], [stat], {
      shape: "scalar",
      stat,
      ddof: options.ddof ?? 1,
      q: options.q,
      sqrt,
    }, options);
  }

  /** Non-null values. */
  count(options: ReductionOptions = {}): Delayed<number> {
    return this.#reduce("count", options);
  }
  /** The sum (nulls skipped). */
  sum(options: ReductionOptions = {}): Delayed<number> {
    return this.#reduce("sum", options);
  }
  /** The mean (nulls skipped; null when there is no value). */
  mean(options: ReductionOptions = {}): Delayed<number | null> {
    return this.#reduce("mean", options);
  }
  /** The smallest value (null when there is none). */
  min<T = number>(options: ReductionOptions = {}): Delayed<T | null> {
    return this.#reduce("min", options);
  }
  /** The largest value (null when there is none). */
  max<T = number>(options: ReductionOptions = {}): Delayed<T | null> {
    return this.#reduce("max", options);
  }
  /** The variance, divided by `n - ddof` (default 1, as pandas). */
  var(options: ReductionOptions & { ddof?: number } = {}): Delayed<number | null> {
    return this.#reduce("var", options);
  }
  /** The standard deviation (see {@link Series.var}). */
  std(options: ReductionOptions & { ddof?: number } = {}): Delayed<number | null> {
    return this.#reduce("var", options, true);
  }
  /** Distinct non-null values. */
  nunique(options: ReductionOptions = {}): Delayed<number> {
    return this.#reduce("nunique", options);
  }
  /** The `q` quantile, approximate over many rows (method in reduction_kernels.ts). */
  quantile(q = 0.5, options: ReductionOptions = {}): Delayed<number | null> {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1]; got ${q}.`);
    return this.#reduce("quantile", { ...options, q });
  }
  /** The number of values, nulls included (pandas' `len(s)`). */
  length(options: ReductionOptions = {}): Delayed<number> {
    return this.frame.length(options);
  }
  /** pandas' `describe()`: count, mean, std, min, quartiles, max, as a frame. */
  describe(options: ReductionOptions = {}): Delayed<import("./polars.ts").Frame> {
    return this.toFrame().describe(options);
  }

  /**
   * How often each non-null value occurs: a one-partition DataFrame with columns `[name,
   * "count"]`, most frequent first (pandas' `value_counts`; a tree reduction).
   */
  valueCounts(options: ReductionOptions & { splitOut?: number } = {}): DataFrame {
    const sizes = this.frame.groupby(this, options).size();
    return sizes.addStep("valueCounts", {
      op: "select",
      exprs: [exprToJson(pl.col(this.name)), exprToJson(pl.col("size").alias("count"))],
    }).addStep("sort", { op: "sort", by: ["count"], descending: true });
  }

  /** The first `n` values, computed now (see `DataFrame.head`). */
  async head(n = 5, options: HeadOptions = {}): Promise<PlSeries> {
    return (await this.toFrame().head(n, options)).getColumn(this.name);
  }

  /** The last `n` values, computed now. */
  async tail(n = 5, options: HeadOptions = {}): Promise<PlSeries> {
    return (await this.toFrame().tail(n, options)).getColumn(this.name);
  }

  /** Computes the Series: a Polars Series. */
  async compute(options: ComputeOptions = {}): Promise<PlSeries> {
    return (await this.toFrame().compute(options)).getColumn(this.name);
  }

  /** How compute sees a Series: its one-column frame, unwrapped. */
  get [collectionSymbol](): CollectionSpec<PlSeries> {
    const frame = this.toFrame();
    const spec = frame[collectionSymbol];
    return {
      layer: spec.layer,
      keys: spec.keys,
      finalize: (values) => spec.finalize(values).getColumn(this.name),
      rebuild: (layer) => {
        const stored = spec.rebuild(layer) as DataFrame;
        return stored.col(this.name);
      },
    };
  }
}

/** pandas' `.dt` on a date or datetime Series. */
export class DatetimeAccessor {
  /** @internal */
  constructor(readonly series: Series, private readonly make: (expr: Expr) => Series) {}
  /** The year. */
  year(): Series {
    return this.make(this.series.expr.dt.year());
  }
  /** The month, 1–12. */
  month(): Series {
    return this.make(this.series.expr.dt.month());
  }
  /** The day of the month, 1–31. */
  day(): Series {
    return this.make(this.series.expr.dt.day());
  }
  /** The day of the week as pandas counts it: Monday 0 … Sunday 6. */
  dayofweek(): Series {
    return this.make(this.series.expr.dt.weekday().cast(pl.Int32).sub(pl.lit(1).cast(pl.Int32)));
  }
  /** The hour, 0–23. */
  hour(): Series {
    return this.make(this.series.expr.dt.hour());
  }
  /** The minute, 0–59. */
  minute(): Series {
    return this.make(this.series.expr.dt.minute());
  }
}

/** pandas' `.str` on a string Series. */
export class StringAccessor {
  /** @internal */
  constructor(readonly series: Series, private readonly make: (expr: Expr) => Series) {}
  /** True where the value contains `pattern` (a regular expression unless `regex: false`). */
  contains(pattern: string, options: { regex?: boolean } = {}): Series {
    const literal = options.regex === false;
    return this.make(this.series.expr.str.contains(literal ? escapeRegex(pattern) : pattern));
  }
  /** True where the value starts with `prefix` (pandas' `str.startswith`). */
  startsWith(prefix: string): Series {
    return this.make(this.series.expr.str.startsWith(prefix));
  }
  /** True where the value ends with `suffix` (pandas' `str.endswith`). */
  endsWith(suffix: string): Series {
    return this.make(this.series.expr.str.endsWith(suffix));
  }
  /** The value in lower case (Unicode, as pandas' `str.lower`). */
  lower(): Series {
    return this.make(sqlFunctionExpr("LOWER", this.series.expr));
  }
  /** The value in upper case (Unicode, as pandas' `str.upper`). */
  upper(): Series {
    return this.make(sqlFunctionExpr("UPPER", this.series.expr));
  }
  /** The number of characters (pandas' `str.len`; null stays null). */
  len(): Series {
    return this.make(sqlFunctionExpr("LENGTH", this.series.expr));
  }
  /** Leading and trailing whitespace removed. */
  strip(): Series {
    return this.make(this.series.expr.str.stripChars(" \t\r\n"));
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
