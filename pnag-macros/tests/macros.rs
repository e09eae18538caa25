//! The macros expand to the same values the runtime parser gives, and reject
//! bad input at compile time with a message at the literal (trybuild).

use pnag_runtime::Arch;

#[test]
fn arch_macro_equals_runtime_parse() {
    let tutorial = pnag_macros::arch!(
        "2,2,3,4,3:5,3,0,0,5,3,0,0,7,7,3,0,5,5,7,3,3,3,5,0:3,3,0,0,4,4,0,0,6,3,4,0,4,4,4,3,6,6,6,0"
    );
    assert_eq!(
        tutorial,
        Arch::parse("2,2,3,4,3:5,3,0,0,5,3,0,0,7,7,3,0,5,5,7,3,3,3,5,0:3,3,0,0,4,4,0,0,6,3,4,0,4,4,4,3,6,6,6,0").unwrap()
    );
    let largest = pnag_macros::arch!(
        "4,4,4,4,4:7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7:6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6"
    );
    assert_eq!(largest, Arch::largest());
}

#[test]
fn bad_arch_literals_fail_to_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
