import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { rowsUpsert } from "../../src/store/sqlite/rows-upsert.js";

describe("rowsUpsert", () => {
  const open = () => {
    const raw = new Database(":memory:");
    raw.exec("create table counts (k text primary key, n integer not null)");
    const bump = rowsUpsert(raw, "insert into counts (k, n) values (?, 1)", "on conflict (k) do update set n = n + 1");
    const read = () => Object.fromEntries(raw.prepare("select k, n from counts order by k").raw().all() as [string, number][]);
    return { bump, read };
  };

  it("writes every row in one call, upserting the ones that exist", () => {
    const { bump, read } = open();
    bump([["a"], ["b"]]);
    bump([["b"], ["c"], ["d"]]);
    expect(read()).toEqual({ a: 1, b: 2, c: 1, d: 1 });
  });

  it("counts a key named twice in one call twice", () => {
    const { bump, read } = open();
    bump([["a"], ["a"], ["a"]]);
    expect(read()).toEqual({ a: 3 });
  });

  it("runs nothing for no rows", () => {
    const { bump, read } = open();
    bump([]);
    expect(read()).toEqual({});
  });
});
