use traced::traced;

#[traced(kind = "server")]
fn a() {}

#[traced(kind = web)]
fn b() {}

#[traced(err = 1)]
fn c() {}

#[traced(crate = "traced")]
fn d() {}

#[traced(ret = true, attrs = 1, links = x)]
fn e() {}

#[traced(attrs(user.id))]
fn f() {}

fn main() {}
