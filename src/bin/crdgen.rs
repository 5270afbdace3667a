//! Prints every CRD of the operator as a multi-document YAML stream.
fn main() -> anyhow::Result<()> {
    for crd in planetscale_operator::crd::all() {
        print!("---\n{}", serde_norway::to_string(&crd)?);
    }
    Ok(())
}
