//! Methods: inherent and trait impls, every receiver, `Self` types.
#![deny(warnings)]

use traced::traced;

#[derive(Clone, Default)]
struct Account {
    balance: i64,
    owner: String,
}

impl Account {
    #[traced]
    fn new(owner: &str) -> Self {
        Self { balance: 0, owner: owner.to_owned() }
    }

    #[traced]
    fn owner(&self) -> &str {
        &self.owner
    }

    #[traced("Account::deposit")]
    fn deposit(&mut self, amount: i64) -> &mut Self {
        self.balance += amount;
        self
    }

    #[traced]
    fn balance_mut(&mut self) -> &mut i64 {
        &mut self.balance
    }

    #[traced]
    fn close(self) -> i64 {
        self.balance
    }

    #[traced]
    fn boxed(self: Box<Self>) -> Box<Self> {
        self
    }

    #[traced]
    fn assoc() -> Option<Self> {
        None
    }
}

trait Ledger {
    fn total(&self) -> i64;
    fn describe(&self) -> String {
        String::new()
    }
}

impl Ledger for Account {
    #[traced]
    fn total(&self) -> i64 {
        self.balance
    }

    #[traced]
    fn describe(&self) -> String {
        format!("{}: {}", self.owner, self.balance)
    }
}

struct Wrapper<T>(T);

impl<T: Clone + std::fmt::Debug> Wrapper<T> {
    #[traced]
    fn get(&self) -> T {
        self.0.clone()
    }

    #[traced]
    fn map<U, F: FnOnce(T) -> U>(self, f: F) -> Wrapper<U> {
        Wrapper(f(self.0))
    }
}

fn main() {
    let mut account = Account::new("ada");
    account.deposit(5).deposit(6);
    *account.balance_mut() += 1;
    let _ = account.owner().len();
    let _ = account.total() + account.clone().close();
    let _ = account.describe();
    let _ = Box::new(account).boxed();
    let _ = Account::assoc();
    let _ = Wrapper(3).get();
    let _ = Wrapper(3).map(|x| x + 1).0;
}
