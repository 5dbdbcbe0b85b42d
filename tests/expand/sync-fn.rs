use traced::traced;

#[traced]
fn unit(a: u32) {
    println!("{a}");
}

#[traced("parse")]
fn fallible(input: &str) -> Result<u32, std::num::ParseIntError> {
    let value = input.parse()?;
    Ok(value)
}

#[traced(kind = server, attrs(user.id = user, shown = %user), ret, err = false)]
fn options(user: u64) -> u64 {
    user
}

struct Repo;

impl Repo {
    #[traced(parent = parent)]
    fn get(&self, parent: &traced::Context) -> Option<&str> {
        None
    }
}
