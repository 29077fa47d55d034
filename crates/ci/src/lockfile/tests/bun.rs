//! `bun.lock`: the workspace of the other formats' fixtures, with a workspace package's own
//! copy of a package, a nested one, a patch and a git dependency.

use expect_test::expect;

use super::{check, LockfileKind};

/// Keys nest by package name: `web/react` is the workspace package web's own react (the
/// top-level one is another), `web/react/ms` what that react gets.
pub(super) const BUN: &str = r#"{
  "lockfileVersion": 1,
  "workspaces": {
    "": { "name": "shop", },
    "apps/server": { "name": "server", "dependencies": { "left-pad": "^1.0.0", }, "devDependencies": { "jest": "^29.0.0", }, },
    "apps/web": { "name": "web", "dependencies": { "react": "^18.0.0", }, },
  },
  "patchedDependencies": { "left-pad@1.1.0": "patches/left-pad@1.1.0.patch", },
  "packages": {
    "server": ["server@workspace:apps/server"],
    "web": ["web@workspace:apps/web"],
    // Comments are allowed, as trailing commas are.
    "jest": ["jest@29.7.0", "", { "dependencies": { "ms": "^2.1.0", "lib": "github:shop/lib" }, "bin": { "jest": "bin/jest.js" } }, "sha512-j"],
    "left-pad": ["left-pad@1.1.0", "", {}, "sha512-lp"],
    "lib": ["lib@github:shop/lib#abc1234", {}, "shop-lib-abc1234"],
    "loose-envify": ["loose-envify@1.4.0", "", {}, "sha512-le"],
    "ms": ["ms@2.1.3", "", {}, "sha512-ms3"],
    "react": ["react@17.0.2", "", { "dependencies": { "loose-envify": "^1.1.0" } }, "sha512-r17"],
    "web/react": ["react@18.2.0", "", { "dependencies": { "loose-envify": "^1.1.0", "ms": "2.0.0" } }, "sha512-r"],
    "web/react/ms": ["ms@2.0.0", "", {}, "sha512-ms0"],
  }
}
"#;

#[test]
fn bun_resolves_from_the_nearest_key() {
    check(
        LockfileKind::Bun,
        BUN,
        expect![[r#"
            apps/server: jest@29.7.0 sha512-j, left-pad@1.1.0 patched by patches/left-pad@1.1.0.patch, lib@github:shop/lib#abc1234 shop-lib-abc1234, ms@2.1.3 sha512-ms3
            apps/web: loose-envify@1.4.0 sha512-le, ms@2.0.0 sha512-ms0, react@18.2.0 sha512-r
        "#]],
    );
    check(
        LockfileKind::Bun,
        "#!/usr/bin/env bun\nbun-lockfile-format-v0\n\u{1}\u{2}",
        expect![[r#"
            error: it is Bun's binary lockfile (bun.lockb); `bun install --save-text-lockfile` writes the text bun.lock topo-ci reads (Bun 1.2 and later write it by default)
        "#]],
    );
    check(
        LockfileKind::Bun,
        r#"{ "lockfileVersion": 0, "packages": {}, }"#,
        expect![[r#"
            error: lockfileVersion 0 has no `packages` map (Bun 1.2 or later writes version 1)
        "#]],
    );
    check(
        LockfileKind::Bun,
        "{ \"lockfileVersion\": 1,\n  \"packages\": { \"ms\": 2 } }",
        expect![[r#"
            error: invalid type: integer `2`, expected an array starting with `name@version` on line 2 column 23
        "#]],
    );
}
