//! `gan-connect staff …`: the support console's staff (help-desk agents and administrators).

use std::process::ExitCode;

use clap::Subcommand;
use gan_admin::{StaffRole, StaffView};
use gan_connect::settings::Settings;

use super::output;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff member: the identity with this login email gets the role; when there is none,
    /// it is created and an invitation to choose a password is mailed to it (queued: the running
    /// server sends it). The console asks every staff member for a TOTP code.
    Add {
        #[arg(long)]
        email: String,
        /// support (customers) or admin (customers, relying parties, keys and staff).
        #[arg(long, value_name = "support|admin")]
        role: String,
        #[arg(long)]
        json: bool,
    },
    /// List the staff.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a staff member (by login email or identity id): the console refuses them and
    /// their sessions and tokens end now.
    Disable { who: String },
}

fn print(staff: &[StaffView], json: bool) -> anyhow::Result<()> {
    if json {
        return output::json(&staff);
    }
    let rows = staff.iter().map(|s| {
        vec![
            s.email.clone(),
            s.role.as_str().to_string(),
            s.status.clone(),
            if s.totp_enrolled { "yes" } else { "no" }.to_string(),
            output::time(Some(s.created_at)),
            s.created_by.clone(),
        ]
    });
    output::table(
        &["EMAIL", "ROLE", "STATUS", "TOTP", "ADDED", "ADDED BY"],
        rows,
    );
    Ok(())
}

pub async fn run(settings: Settings, command: StaffCommand) -> anyhow::Result<ExitCode> {
    if let StaffCommand::List { json } = command {
        return super::with_reader(&settings, |admin| async move {
            print(&admin.list_staff().await?, json)?;
            Ok(ExitCode::SUCCESS)
        })
        .await;
    }
    super::with_admin(&settings, |admin| async move {
        match command {
            StaffCommand::Add { email, role, json } => {
                let role = StaffRole::parse(&role).ok_or_else(|| {
                    anyhow::anyhow!("--role {}: use support or admin", output::clean(&role))
                })?;
                let (added, invited) = admin.add_staff(&email, role).await?;
                print(std::slice::from_ref(&added), json)?;
                if !json {
                    let email = output::clean(&added.email);
                    if invited {
                        println!(
                            "invitation queued for {email}: a link to choose a password (24 h)"
                        );
                    } else {
                        println!("{email} already had an identity: it signs in with its password");
                    }
                }
            }
            StaffCommand::Disable { who } => {
                let disabled = admin.disable_staff(&who).await?;
                print(std::slice::from_ref(&disabled), false)?;
            }
            StaffCommand::List { .. } => {}
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}
