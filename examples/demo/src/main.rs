//! Prints a few facts computed with crates whose build scripts ran in the sandbox.

use serde::Serialize;

#[derive(Serialize)]
struct Facts {
    page_size: i64,
    png_mime: String,
    u5: u32,
}

fn main() -> anyhow::Result<()> {
    // SAFETY: sysconf has no preconditions.
    let page_size = i64::from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as i32);
    let facts = Facts {
        page_size,
        png_mime: mime_guess::from_ext("png").first_or_octet_stream().to_string(),
        u5: <typenum::U5 as typenum::Unsigned>::to_u32() + <u32 as num_traits::Zero>::zero(),
    };
    println!("{}", serde_json::to_string(&facts)?);
    Ok(())
}
