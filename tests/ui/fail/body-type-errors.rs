use traced::traced;

#[traced]
fn wrong_tail() -> u32 {
    "not a number"
}

#[traced]
fn wrong_return(flag: bool) -> Result<u32, String> {
    if flag {
        return Ok("text");
    }
    Ok(1)
}

#[traced]
fn wrong_let() {
    let x: u32 = "text";
    let _ = x;
}

#[traced]
async fn async_wrong_tail() -> u32 {
    "not a number"
}

#[traced]
async fn async_wrong_return(flag: bool) -> Result<u32, String> {
    if flag {
        return Ok("text");
    }
    Ok(1)
}

#[traced]
async fn async_wrong_let() {
    let x: u32 = "text";
    let _ = x;
}

fn main() {}
