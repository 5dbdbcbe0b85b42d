use traced::traced;

trait Store {
    #[traced]
    fn get(&self) -> u32;
}

fn main() {}
